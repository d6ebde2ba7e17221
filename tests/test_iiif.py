"""IIIF import against the IIIF Cookbook's manifests (../shared/iiif) served from 127.0.0.1.

The server rewrites ``https://iiif.io`` to itself and answers every image request
with a generated JPEG, so the real manifests run end to end without the network.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from pathlib import Path

import pytest
from PIL import Image

from artsim.cli import main
from artsim.errors import FetchError
from artsim.inputs.collection import scan_folder
from artsim.sources.iiif import import_iiif
from artsim.sources.iiif.parse import artist_name, image_request, paintings, text
from tests.helpers import SHARED
from tests.local_http import LocalServer

IIIF = SHARED / "iiif"
pytestmark = pytest.mark.skipif(not IIIF.is_dir(), reason="../shared/iiif not present")
RECIPE = "/api/cookbook/recipe/"
MISSING_IMAGE = "Northeaster_by_Winslow_Homer_1895"  # manifest-02's image answers 404 in the broken setup

SOUND_MANIFEST = {
    "@context": "http://iiif.io/api/presentation/3/context.json",
    "id": "BASE/extra/sound.json",
    "type": "Manifest",
    "label": {"none": ["A recording"]},
    "items": [
        {
            "id": "BASE/extra/sound/canvas/1",
            "type": "Canvas",
            "duration": 10.0,
            "items": [
                {
                    "type": "AnnotationPage",
                    "items": [
                        {
                            "type": "Annotation",
                            "motivation": "painting",
                            "body": {"id": "x.mp4", "type": "Sound"},
                        }
                    ],
                }
            ],
        }
    ],
}


def jpeg(path: str) -> bytes:
    c = zlib.crc32(path.encode())
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (c & 255, (c >> 8) & 255, (c >> 16) & 255)).save(buf, "JPEG")
    return buf.getvalue()


class CookbookServer(LocalServer):
    def __init__(self, *, broken: bool = False) -> None:
        self.image_paths: list[str] = []
        self.broken = broken
        super().__init__(self.answer)
        extra = {
            "sound.json": SOUND_MANIFEST,
            "collection.json": {
                "@context": "http://iiif.io/api/presentation/3/context.json",
                "id": "BASE/extra/collection.json",
                "type": "Collection",
                "label": {"en": ["Nested"]},
                "items": [
                    {"id": f"BASE{RECIPE}0032-collection/collection.json", "type": "Collection"},
                    {"id": "BASE/extra/sound.json", "type": "Manifest"},
                    {"id": "BASE/extra/gone.json", "type": "Manifest"},
                    {"id": f"BASE{RECIPE}0033-choice/manifest.json", "type": "Manifest"},
                ],
            },
        }
        self.extra = {k: json.dumps(v).replace("BASE", self.base).encode() for k, v in extra.items()}

    def answer(self, path: str, query: str):
        if path.startswith(RECIPE):
            recipe, _, name = path[len(RECIPE) :].partition("/")
            file = IIIF / f"{recipe}__{name}"
            if file.is_file():
                body = file.read_text(encoding="utf-8").replace("https://iiif.io", self.base)
                return 200, {"Content-Type": "application/json"}, body.encode()
        if path.startswith("/extra/") and path[7:] in self.extra:
            return 200, {"Content-Type": "application/json"}, self.extra[path[7:]]
        if path.endswith((".jpg", ".png")):
            self.image_paths.append(path)
            if self.broken and MISSING_IMAGE in path:
                return 404, {}, b"gone"
            return 200, {"Content-Type": "image/jpeg"}, jpeg(path)
        return 404, {}, b"not here"


@pytest.fixture(scope="module")
def server():
    with CookbookServer() as s:
        yield s


@pytest.fixture(scope="module")
def broken():
    with CookbookServer(broken=True) as s:
        yield s


def load(name: str) -> dict:
    return json.loads((IIIF / name).read_text(encoding="utf-8"))


def meta_rows(dest: Path) -> dict[str, dict[str, str]]:
    with (dest / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def test_collection_of_paintings_imports_with_metadata_at_model_size(server, tmp_path):
    url = f"{server.base}{RECIPE}0032-collection/collection.json"
    report = import_iiif(url, tmp_path / "out", progress=False)
    assert len(report.imported) == 2 and report.skipped == [] and report.notes == []
    # Image service requests fitted in 512 px, never the full scan.
    assert server.image_paths and all(p.endswith("/full/!512,512/0/default.jpg") for p in server.image_paths)
    scan = scan_folder(tmp_path / "out")
    got = sorted((p.artist, p.title, p.year) for p in scan.paintings)
    assert got == [("Winslow Homer", "Northeaster", "1895"), ("Winslow Homer", "The Gulf Stream", "1899")]
    rows = meta_rows(tmp_path / "out")
    gulf = next(r for r in rows.values() if r["title"] == "The Gulf Stream")
    assert gulf["source"] == f"{server.base}{RECIPE}0032-collection/manifest-01.json"
    assert gulf["work"] == f"{server.base}{RECIPE}0032-collection/manifest/1/canvas/p1"
    # A rerun requests no image again.
    before = len(server.image_paths)
    again = import_iiif(url, tmp_path / "out", progress=False)
    assert again.imported == [] and sorted(again.already_there) == sorted(report.imported)
    assert len(server.image_paths) == before


def test_nested_collection_reports_bad_items_and_imports_the_rest(broken, tmp_path):
    report = import_iiif(f"{broken.base}/extra/collection.json", tmp_path / "out", progress=False)
    reasons = dict(report.skipped)
    assert reasons[f"{broken.base}/extra/sound/canvas/1"].startswith("canvas paints Sound")
    assert "HTTP 404" in reasons[f"{broken.base}/extra/gone.json"]
    canvas_02 = f"{broken.base}{RECIPE}0032-collection/manifest/2/canvas/p1"
    assert "HTTP 404" in reasons[canvas_02] and len(reasons) == 3
    titles = sorted(r["title"] for r in meta_rows(tmp_path / "out").values())
    assert titles == ["John Dee performing an experiment before Queen Elizabeth I.", "The Gulf Stream"]
    choice = [n for w, n in report.notes if w == f"{broken.base}{RECIPE}0033-choice/canvas/p1"]
    assert choice == ["choice of 2 images: took the first (Natural Light)", "no artist in the metadata"]


@pytest.mark.parametrize(
    "name", ["0057-publishing-v2-and-v3__manifest-v2.json", "0057-publishing-v2-and-v3__manifest-v3.json"]
)
def test_presentation_2_and_3_of_one_item_read_the_same(name):
    (painting,), problems = paintings(load(name))
    assert problems == []
    assert painting.title == "IIIF Presentation Version 3 Minimum Viable Manifest"
    assert (
        painting.image_url == "https://iiif.io/api/presentation/2.1/example/fixtures/resources/page1-full.png"
    )
    assert painting.canvas_id == "https://iiif.io/api/cookbook/recipe/0057-publishing-v2-and-v3/canvas/p1"
    assert painting.notes[0].startswith("no IIIF Image service")


def test_rights_metadata_and_languages():
    (rights,), _ = paintings(load("0008-rights__manifest.json"))
    assert rights.license == "http://creativecommons.org/licenses/by-sa/3.0/"
    first, second = paintings(load("0029-metadata-anywhere__manifest.json"))[0]
    assert (first.artist, first.year) == ("Glindoni, Henry Gillard", "1800-1899")
    assert first.license.startswith("Wellcome Collection.") and first.canvas_id != second.canvas_id
    assert text({"fr": ["Bonjour"], "en": ["<b>Hello</b> &amp; bye"]}) == "Hello & bye"
    assert text([{"@value": "Chat", "@language": "fr"}, {"@value": "Cat", "@language": "en"}]) == "Cat"
    assert text({"de": ["Hallo"]}) == "Hallo"
    assert artist_name("Winslow Homer (1836–1910)") == "Winslow Homer"


def test_image_api_2_service_and_v2_metadata():
    image = {
        "@id": "https://img.test/iiif/abc/full/full/0/default.jpg",
        "service": {
            "@context": "http://iiif.io/api/image/2/context.json",
            "@id": "https://img.test/iiif/abc",
        },
    }
    assert image_request(image) == ("https://img.test/iiif/abc/full/!512,512/0/default.jpg", None)
    doc = {
        "@context": "http://iiif.io/api/presentation/2/context.json",
        "@id": "m",
        "@type": "sc:Manifest",
        "label": "Self-Portrait",
        "metadata": [{"label": "Artist", "value": "Vincent van Gogh"}, {"label": "Date", "value": "1889"}],
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "sequences": [
            {"canvases": [{"@id": "c1", "images": [{"resource": image}]}, {"@id": "c2", "images": []}]}
        ],
    }
    (p,), (problem,) = paintings(doc)
    assert (p.artist, p.year, p.license[-9:], p.image_url[-22:]) == (
        "Vincent van Gogh",
        "1889",
        "zero/1.0/",
        "!512,512/0/default.jpg",
    )
    assert problem.where == "c2" and "not an image" in problem.reason


def test_offline_and_not_iiif(tmp_path, server):
    with pytest.raises(FetchError, match="cannot reach"):
        import_iiif("http://127.0.0.1:9/manifest.json", tmp_path / "o", progress=False, probe_timeout=1.0)
    with pytest.raises(FetchError, match="HTTP 404"):
        import_iiif(f"{server.base}/nothing.json", tmp_path / "o", progress=False)


def test_cli_import_iiif(server, tmp_path, capsys):
    code = main(
        ["import", "iiif", f"{server.base}{RECIPE}0033-choice/manifest.json", "--out", str(tmp_path / "c")]
    )
    out, err = capsys.readouterr()
    assert code == 0 and "imported 1" in out and "took the first" in err


def test_cli_import_into_a_new_collection(server, tmp_path, capsys, monkeypatch):
    from artsim.store.collections import Collections

    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    db = str(tmp_path / "db")
    url = f"{server.base}{RECIPE}0032-collection/collection.json"
    assert main(["import", "iiif", url, "--collection", "--name", "Homer", "--db", db]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("collection "))
    collection_id = line.split()[1].rstrip(":")
    collections = Collections(db)
    assert collections.get(collection_id).name == "Homer"
    titles = sorted(p.title for p in collections.paintings(collection_id))
    assert titles == ["Northeaster", "The Gulf Stream"]
