"""A class opens the link at once: N sessions over Streamlit's websocket protocol, against a bare page.

Each simulated student opens ``/_stcore/stream`` and asks for one page's first
script run, as a browser's first request does (``deploy/sessions.py``), timed
to ``script_finished``. Arrivals are spread evenly over ``--spread`` seconds; pages
cycle through ``--pages``. Then ``--idle`` sessions open the Gallery and stay
open: the server's RSS growth per idle session.

The floor, in the same run: a bare Streamlit page (a title and one 160-px thumbnail) under
the same load (``--no-bare`` skips it), served from the repository's folder so that it runs
with the app's own ``.streamlit/config.toml`` (no file watcher, as any deployment; until
issue 23.1 it ran with Streamlit's defaults, whose per-session file watching made it slower). ``--proxy R`` runs the app as R replicas
behind nginx (``deploy/proxy.py``) and sends every session through the proxy.

Before timing, the app embeds the gallery (one warm-up view, then it waits for
the store to hold every thumbnail) and serves each page once, as a running
server would have.

The last line is exactly ``sessions=<N> spread_s=<S> replicas=<R> app_p50_s=<..>
app_p95_s=<..> bare_p95_s=<..> ratio_p95=<..> errors=<..> rss_mb_per_session=<..>``.

Usage::

    python benchmarks/class_load.py --sessions 60 --spread 3
    python benchmarks/class_load.py --sessions 200 --spread 30 --proxy 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy import proxy, sessions  # noqa: E402

BARE = '''import streamlit as st
st.title("A bare page")
st.image({image!r}, width=160)
'''
PAGES = ("", "similarity", "projection", "clustering")
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp"}


def rss_mb(pids: list[int]) -> float:
    """Resident memory of ``pids`` together (MB), from /proc."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def load(ws_url: str, n: int, spread: float, pages: tuple[str, ...], pids: list[int]) -> dict:
    """Run ``n`` first views arriving over ``spread`` seconds; returns the views, wall time and RSS."""

    async def student(i: int) -> sessions.View:
        await asyncio.sleep(spread * i / (n - 1) if n > 1 else 0)
        return await sessions.first_view(ws_url, pages[i % len(pages)])

    before = rss_mb(pids)
    start = time.perf_counter()
    views = await asyncio.gather(*(student(i) for i in range(n)))
    wall = time.perf_counter() - start
    after = rss_mb(pids)
    return {"views": views, "wall": wall, "rss_before": before, "rss_after": after}


async def idle_rss(ws_url: str, n: int, pids: list[int], hold: float) -> float:
    """RSS growth per idle session (MB): ``n`` sessions each run the default page and stay open."""
    before = rss_mb(pids)
    tasks = [asyncio.create_task(sessions.first_view(ws_url, "", hold_s=hold)) for _ in range(n)]
    await asyncio.sleep(hold * 0.8)
    during = rss_mb(pids)
    await asyncio.gather(*tasks)
    return (during - before) / max(1, n)


def summarise(label: str, result: dict, pages: tuple[str, ...]) -> tuple[float, float, int]:
    views = result["views"]
    ok = [v for v in views if v.ok]
    errors = [v for v in views if not v.ok]
    print(f"{label}: {len(views)} sessions, {len(errors)} errors, wall {result['wall']:.2f} s, "
          f"RSS {result['rss_before']:.0f} -> {result['rss_after']:.0f} MB")
    for page in pages:
        times = [v.seconds for v in ok if v.page == page]
        if times:
            print(f"  {page or 'gallery':<11} n={len(times):<4} p50 {statistics.median(times):.2f} s  p95 {pct(times, 0.95):.2f} s")
    for v in errors[:5]:
        print(f"  error ({v.page or 'gallery'}): {v.error}")
    times = [v.seconds for v in ok]
    return (statistics.median(times) if times else math.nan), pct(times, 0.95), len(errors)


def warm(url: str, env: dict[str, str], pages: tuple[str, ...]) -> None:
    """Embed the gallery and serve each page once (a running server's state)."""
    from artsim.inputs.collection import scan_folder
    from artsim.store.vectors import EmbeddingStore

    ws = url.replace("http://", "ws://") + "/_stcore/stream"
    asyncio.run(sessions.first_view(ws, ""))
    shas = [p.sha256 for p in scan_folder(env["ARTSIM_GALLERY"]).paintings]
    store, deadline = EmbeddingStore(env["ARTSIM_DB"]), time.monotonic() + 600
    while len(store.thumbnails(shas)) < len(shas) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)  # the job's end: memo filled
    for _ in range(2):
        for page in pages:
            view = asyncio.run(sessions.first_view(ws, page))
            if not view.ok:
                print(f"warm-up of {page or 'gallery'}: {view.error}", file=sys.stderr)


def server_env(root: Path, gallery: Path, per_artist: int) -> dict[str, str]:
    """The servers' environment: a fresh home and store under ``root``, ``per_artist`` images of each
    artist of ``gallery``, no UMAP warm-up and no background weight fetch or runtime measurement."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSIM_")}
    env.update(ARTSIM_HOME=str(root / "home"), ARTSIM_DB=str(root / "db"), ARTSIM_UMAP_WARMUP="0",
               ARTSIM_FETCH_WEIGHTS="0", ARTSIM_MEASURE="0",
               ARTSIM_GALLERY=str(gallery_subset(gallery, per_artist, root / "gallery")),
               ARTSIM_MODEL=os.environ.get("ARTSIM_MODEL", "efficientnet-lite0"))
    return env


def gallery_subset(source: Path, per_artist: int, dest: Path) -> Path:
    """``per_artist`` images of each artist folder of ``source``, linked under ``dest``."""
    for artist in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(f for f in artist.iterdir() if f.suffix.lower() in IMAGE_EXTS)[:per_artist]
        (dest / artist.name).mkdir(parents=True, exist_ok=True)
        for f in files:
            (dest / artist.name / f.name).symlink_to(f.resolve())  # a relative --gallery would link nowhere
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--spread", type=float, default=3.0, help="arrivals spread over this many seconds")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated URL paths ('' = Gallery)")
    parser.add_argument("--gallery", type=Path, default=Path("../shared/gallery"))
    parser.add_argument("--per-artist", type=int, default=4, help="images per artist taken from --gallery")
    parser.add_argument("--proxy", type=int, default=0, metavar="R", help="R replicas behind nginx (deploy/)")
    parser.add_argument("--idle", type=int, default=20, help="idle sessions for the RSS per session (0: skip)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare page")
    args = parser.parse_args()
    args.sessions = max(1, min(args.sessions, 1000))  # loopback, bounded
    pages = tuple(p.strip().strip("/") for p in args.pages.split(","))
    print(f"load average: {open('/proc/loadavg').read().strip()}; cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="class-load-") as tmp:
        root = Path(tmp)
        env = server_env(root, args.gallery, args.per_artist)
        bare_p95 = math.nan
        if not args.no_bare:
            from PIL import Image

            source = next(p for p in sorted(Path(env["ARTSIM_GALLERY"]).rglob("*")) if p.suffix.lower() in IMAGE_EXTS)
            with Image.open(source) as im:  # one thumbnail, as app_latency.py's bare page shows
                im.convert("RGB").resize((160, round(160 * im.height / im.width))).save(root / "thumb.jpg", quality=85)
            (root / "bare.py").write_text(BARE.format(image=str(root / "thumb.jpg")))
            port = proxy.free_port()
            with open(root / "bare.log", "w") as log:
                bare = subprocess.Popen(proxy.replica_command(port, root / "bare.py"), cwd=ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
            try:
                proxy.wait_healthy(f"http://127.0.0.1:{port}", proc=bare)
                ws = f"ws://127.0.0.1:{port}/_stcore/stream"
                asyncio.run(sessions.first_view(ws, ""))
                result = asyncio.run(load(ws, args.sessions, args.spread, ("",), [bare.pid]))
                _, bare_p95, _ = summarise("bare page", result, ("",))
            finally:
                bare.terminate()
                bare.wait(timeout=20)
        replicas = max(1, args.proxy)
        with proxy.cluster(replicas, env, log_dir=root) as running:
            url = running.url if args.proxy else running.replicas[0]
            warm(url, env, pages)
            for replica in running.replicas[1:]:  # each replica serves its first views before the class
                warm(replica, env, pages)
            ws = url.replace("http://", "ws://") + "/_stcore/stream"
            pids = running.pids()[:-1]
            result = asyncio.run(load(ws, args.sessions, args.spread, pages, pids))
            label = f"app via nginx, {replicas} replicas" if args.proxy else "app, one process"
            p50, p95, errors = summarise(label, result, pages)
            per_session = asyncio.run(idle_rss(ws, args.idle, pids, hold=8.0)) if args.idle else math.nan
            if args.idle:
                print(f"idle sessions: {args.idle}, RSS growth {per_session:.2f} MB per session")
    print(f"load average after: {open('/proc/loadavg').read().strip()}")
    print(f"sessions={args.sessions} spread_s={args.spread:g} replicas={replicas if args.proxy else 0} "
          f"app_p50_s={p50:.2f} app_p95_s={p95:.2f} bare_p95_s={bare_p95:.2f} ratio_p95={p95 / bare_p95:.2f} "
          f"errors={errors} rss_mb_per_session={per_session:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
