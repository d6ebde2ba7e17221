"""Peak memory and time of loading museum-size and hostile files (issue #10).

Builds the corpus of tests/hostile_corpus.py plus a 447-megapixel, 250 MB
baseline JPEG (textured, about 0.56 bytes per pixel like a high-quality scan)
in a temp folder, then loads each file with :func:`artsim.inputs.images.load_image`
at the sizes the embedders ask for (232 px; 1792 px with a 448 px draft), and
the 250 MB file once more through :func:`artsim.uploads.batch.read_uploads` from
bytes, as an upload arrives. Baseline in the same run: plain Pillow
(``Image.open(...).convert("RGB")`` then ``thumbnail``) where Pillow agrees to
open the file.

Memory is the growth of the process's resident peak (``VmHWM`` reset through
``/proc/self/clear_refs`` after ``malloc_trim``), Linux only.

``--hostile`` (issue 25) instead sends the big versions of the parser floods,
codec bombs and museum formats through :func:`read_uploads` one file at a time,
as the upload page does: each row gives the server's resident peak growth, the
decode worker's own peak (a fresh worker per file, so its ``VmHWM`` is that
file's), the seconds, and the outcome; then the same in-process
(``sandbox=False``, the caps alone), and the worker's cost per batch.

    .venv/bin/python benchmarks/big_files.py [--hostile]
"""

from __future__ import annotations

import ctypes
import gc
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artsim.errors import ImageError  # noqa: E402
from artsim.inputs.images import load_image  # noqa: E402
from artsim.uploads import decode_worker  # noqa: E402
from artsim.uploads.batch import UploadLimits, read_uploads  # noqa: E402
from tests.hostile_corpus import (  # noqa: E402
    bigtiff_pyramid,
    dense_jpeg,
    gif_flood,
    good_jpeg,
    jpeg_flood,
    lying_zip,
    png_flood,
    progressive_scans,
    tiff_offset_flood,
    webp_canvas,
    write_corpus,
)


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


def hostile_kinds() -> dict[str, bytes]:
    """The big versions of issue 25's kinds (sizes as in the issue where it gave them)."""
    return {
        "bzip2 bomb.zip (512 MB)": lying_zip(zipfile.ZIP_BZIP2, 512 << 20),
        "lzma bomb.zip (512 MB)": lying_zip(zipfile.ZIP_LZMA, 512 << 20),
        "APP flood.jpg": jpeg_flood(2_000_000, 0xE1),
        "COM flood.jpg": jpeg_flood(2_000_000),
        "private chunks.png": png_flood(1_000_000),
        "empty IDATs.png": png_flood(1_000_000, b"IDAT"),
        "strip offsets.tif": tiff_offset_flood(3_000_000),
        "comments.gif": gif_flood(1_000_000),
        "1000 scans 64MP.jpg": progressive_scans(8000, 1000, flat=True),
        "90 scans 64MP.jpg": progressive_scans(8000, 90, flat=True),
        "canvas 48MP.webp": webp_canvas(7000, 7000),
        "canvas 16MP.webp": webp_canvas(4096, 4096),
        "BigTIFF 300MP pyramid.tif": bigtiff_pyramid(20000, 15000, 6),
        "good.jpg": good_jpeg(),
    }


def _worker_hwm() -> float:
    peaks = [0]
    for worker in list(decode_worker._idle):
        with open(f"/proc/{worker.proc.pid}/status") as fh:
            peaks += [int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM")]
    return max(peaks) / 2**20


def hostile() -> None:
    files = hostile_kinds()
    print(f"{'file':27s} {'KB':>8s} {'mode':8s} {'s':>6s} {'server+MiB':>10s} {'worker MiB':>10s}  outcome")
    for sandbox in (True, False):
        limits = UploadLimits(sandbox=sandbox)
        for name, data in files.items():
            decode_worker.shutdown()
            if sandbox:  # a warm, fresh worker: its peak is this file's
                decode_worker.check_image(good_jpeg(1), "warm.jpg")
            outcome, seconds, grew = measure(lambda d=data, n=name, lim=limits: "; ".join(
                f"{o.status}: {o.reason[:70]}" for o in read_uploads([(n, d)], artist="Bench", limits=lim)))
            worker = f"{_worker_hwm():10.0f}" if sandbox else f"{'-':>10s}"
            print(f"{name:27s} {len(data) / 1024:8.1f} {'worker' if sandbox else 'inline':8s} {seconds:6.2f} "
                  f"{grew:10.0f} {worker}  {outcome}")
    decode_worker.shutdown()
    good = [(f"g{i}.jpg", good_jpeg(i, (1200, 900))) for i in range(20)]
    for sandbox in (False, True):
        t0 = time.perf_counter()
        read_uploads(good, artist="Bench", limits=UploadLimits(sandbox=sandbox))
        print(f"20 photos of 1200x900, {'worker (cold start)' if sandbox else 'inline':20s} "
              f"{time.perf_counter() - t0:6.2f} s")
    t0 = time.perf_counter()
    read_uploads(good, artist="Bench")
    print(f"20 photos of 1200x900, {'worker (warm)':20s} {time.perf_counter() - t0:6.2f} s")


if __name__ == "__main__":
    hostile() if "--hostile" in sys.argv else main()
