"""Build the bundled demo gallery ``data/demo-gallery/`` from ``../shared/gallery``.

    python data/build_demo_gallery.py [--source ../shared/gallery] [--dest data/demo-gallery]

Every image is decoded, converted to sRGB (when it carries a colour profile),
turned upright (EXIF orientation), fitted inside :data:`LONG_SIDE` px on its long
side (never enlarged) and re-encoded as a baseline JPEG of quality :data:`QUALITY`
with no metadata (no EXIF, no ICC profile, no comments). So no file is a
byte-copy of its source. ``metadata.csv`` carries each painting's credits over
(``file, artist, title, year, work, source, license``); ``work`` keeps copies of
one painting marked (The Starry Night 4 times, The Scream 3). The output is
deterministic: running it again rewrites the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path, PurePosixPath

from PIL import Image, ImageCms, ImageOps

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared" / "gallery"
DEST = HERE / "demo-gallery"
LONG_SIDE = 512
QUALITY = 85
COLUMNS = ("file", "artist", "title", "year", "work", "source", "license")
_SRGB = ImageCms.createProfile("sRGB")


def demo_jpeg(path: Path) -> bytes:
    """``path``'s image as an upright sRGB JPEG, long side <= :data:`LONG_SIDE`, without metadata."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        icc = im.info.get("icc_profile")
        if icc:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = ImageCms.profileToProfile(im, profile, _SRGB, outputMode="RGB")
        im = im.convert("RGB")
        im.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        im.info.clear()  # Pillow would write the source's EXIF, ICC profile and comment from here
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=QUALITY, optimize=True)  # optimize: smaller Huffman tables only
    return buf.getvalue()


def build(source: Path = SOURCE, dest: Path = DEST) -> list[dict[str, str]]:
    """Write the demo gallery of ``source`` into ``dest``; returns its ``metadata.csv`` records."""
    with (source / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    records = []
    for row in sorted(rows, key=lambda r: r["file"]):
        rel = PurePosixPath(row["file"]).with_suffix(".jpg")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(demo_jpeg(source / row["file"]))
        records.append({c: row.get(c, "") for c in COLUMNS} | {"file": str(rel)})
    with (dest / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the full-size gallery (with metadata.csv)")
    parser.add_argument("--dest", type=Path, default=DEST, help="where the demo gallery goes")
    args = parser.parse_args(argv)
    records = build(args.source, args.dest)
    total = sum((args.dest / r["file"]).stat().st_size for r in records)
    artists = len({r["artist"] for r in records})
    print(f"{len(records)} paintings by {artists} artists, {total / 1e6:.2f} MB -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
