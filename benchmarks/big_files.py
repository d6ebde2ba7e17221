"""Peak memory and time of loading museum-size and hostile files (issue #10).

Builds the corpus of tests/hostile_corpus.py plus a 447-megapixel, 250 MB
baseline JPEG (textured, about 0.56 bytes per pixel like a high-quality scan)
in a temp folder, then loads each file with :func:`artsim.inputs.images.load_image`
at the sizes the embedders ask for (232 px; 1792 px with a 448 px draft), and
the 250 MB file once more through :func:`artsim.inputs.uploads.read_uploads` from
bytes, as an upload arrives. Baseline in the same run: plain Pillow
(``Image.open(...).convert("RGB")`` then ``thumbnail``) where Pillow agrees to
open the file.

Memory is the growth of the process's resident peak (``VmHWM`` reset through
``/proc/self/clear_refs`` after ``malloc_trim``), Linux only.

    .venv/bin/python benchmarks/big_files.py
"""

from __future__ import annotations

import ctypes
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artsim.errors import ImageError  # noqa: E402
from artsim.inputs.images import load_image  # noqa: E402
from artsim.inputs.uploads import read_uploads  # noqa: E402
from tests.hostile_corpus import dense_jpeg, write_corpus  # noqa: E402


def _kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def measure(fn: Callable[[], object]) -> tuple[str, float, float]:
    """(outcome, seconds, resident peak growth in MiB)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = _kb("VmRSS")
    t0 = time.perf_counter()
    try:
        out = fn()
        outcome = f"ok {out.size}" if isinstance(out, Image.Image) else str(out)
    except ImageError as exc:
        outcome = "refused: " + exc.reason[:60]
    except Exception as exc:  # noqa: BLE001 - the baseline fails in its own ways
        outcome = f"{type(exc).__name__}: {str(exc)[:50]}"
    seconds = time.perf_counter() - t0
    return outcome, seconds, (_kb("VmHWM") - before) / 2**20


def naive(path: Path) -> Image.Image:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    rgb.thumbnail((1792, 1792))
    return rgb


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_corpus(Path(tmp))
        big = Path(tmp) / "scan447mp.jpg"
        big.write_bytes(dense_jpeg(24000, 18624))
        paths["scan447mp.jpg"] = big
        print(f"{'file':22s} {'MB':>7s} {'path':10s} {'s':>6s} {'+MiB':>6s}  outcome")
        for name, path in paths.items():
            mb = path.stat().st_size / 1e6
            runs = [("232", lambda p=path: load_image(p, max_side=232)),
                    ("1792/448", lambda p=path: load_image(p, max_side=1792, draft_side=448))]
            if name in ("jpeg48mp.jpg", "float32.tif", "rgba.png", "sixteen.tif", "scan447mp.jpg"):
                runs.append(("pillow", lambda p=path: naive(p)))
            for label, fn in runs:
                outcome, seconds, grew = measure(fn)
                print(f"{name:22s} {mb:7.1f} {label:10s} {seconds:6.2f} {grew:6.0f}  {outcome}")
        data = big.read_bytes()
        outcome, seconds, grew = measure(
            lambda: [o.status for o in read_uploads([("scan447mp.jpg", data)], artist="Museum")])
        print(f"{'scan447mp.jpg':22s} {len(data) / 1e6:7.1f} {'upload':10s} {seconds:6.2f} {grew:6.0f}  "
              f"{outcome} (the upload's bytes are already in memory)")


if __name__ == "__main__":
    main()
