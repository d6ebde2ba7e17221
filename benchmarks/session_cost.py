"""What one new session costs the server: CPU seconds per first view, per page, against a bare page.

``class_load.py`` times a crowd; on a shared 2-core machine its wall times swing
with the neighbours' load. This check reads the one figure the crowd's times
follow: the server process's CPU time (``/proc/<pid>/stat``, all threads: the
script thread, the event loop serialising and sending the messages, and any
worker) per new session. Sessions arrive one after another (no contention), each
a first view over Streamlit's websocket (``deploy/sessions.py``); the server is
warm (gallery embedded, each page served twice). The bare page (a title and one
160-px thumbnail, as ``class_load.py``'s) is measured by the same code in the same run, with the
app's ``.streamlit/config.toml`` (it is served from the repository's folder).

``--profile N`` also profiles the script thread of each first view with cProfile
(the server runs through this file's ``--serve`` wrapper) and prints the top
``N`` functions by cumulative time per page.

The last line is exactly ``bare_cpu_ms=<..> app_cpu_ms=<..> ratio=<..>`` (the
app's mean over its pages).

Usage::

    python benchmarks/session_cost.py --repeat 10
    python benchmarks/session_cost.py --repeat 5 --profile 25
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from class_load import BARE, IMAGE_EXTS, PAGES, server_env, warm  # noqa: E402

from deploy import proxy, sessions  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def serve_profiled(out: Path, argv: list[str]) -> None:
    """Run ``streamlit run argv`` with each script run profiled into ``out/<page>-<n>.prof``."""
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.web import cli

    original = script_runner.ScriptRunner._run_script
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def run_script(self, rerun_data):
        profile = cProfile.Profile()
        profile.enable()
        try:
            return original(self, rerun_data)
        finally:
            profile.disable()
            with lock:
                n = next(counter)
            profile.dump_stats(out / f"{rerun_data.page_name or 'gallery'}-{n:05d}.prof")

    script_runner.ScriptRunner._run_script = run_script
    sys.argv = ["streamlit", "run", *argv]
    cli.main()


def measure(ws: str, pid: int, page: str, repeat: int) -> tuple[float, float]:
    """Mean CPU seconds and mean wall seconds of ``repeat`` sequential first views of ``page``."""
    cpu, walls = 0.0, []
    for _ in range(repeat):
        before = cpu_seconds(pid)
        view = asyncio.run(sessions.first_view(ws, page))
        time.sleep(0.3)  # the session's end (disconnect, cleanup) is part of its cost
        cpu += cpu_seconds(pid) - before
        if not view.ok:
            raise RuntimeError(f"{page or 'gallery'}: {view.error}")
        walls.append(view.seconds)
    return cpu / repeat, statistics.mean(walls)


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = proxy.free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([*command, "--server.port", str(port), "--server.address", "127.0.0.1",
                                 "--server.headless", "true"], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        proxy.wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
    except RuntimeError:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def top(prof_dir: Path, page: str, n: int) -> None:
    files = sorted(prof_dir.glob(f"{page or 'gallery'}-*.prof"))[-3:]  # the measured runs, not the warm-up
    if not files:
        return
    stats = pstats.Stats(*map(str, files))
    print(f"--- {page or 'gallery'}: cProfile of the script thread, {len(files)} runs summed, cumulative")
    stats.sort_stats("cumulative").print_stats(n)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_profiled(Path(sys.argv[2]), sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="first views per page")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated URL paths ('' = Gallery)")
    parser.add_argument("--gallery", type=Path, default=Path("../shared/gallery"))
    parser.add_argument("--per-artist", type=int, default=4)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions per page")
    args = parser.parse_args()
    pages = tuple(p.strip().strip("/") for p in args.pages.split(","))
    print(f"load average: {open('/proc/loadavg').read().strip()}; cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="session-cost-") as tmp:
        root = Path(tmp)
        env = server_env(root, args.gallery, args.per_artist)
        from PIL import Image

        source = next(p for p in sorted(Path(env["ARTSIM_GALLERY"]).rglob("*")) if p.suffix.lower() in IMAGE_EXTS)
        with Image.open(source) as im:
            im.convert("RGB").resize((160, round(160 * im.height / im.width))).save(root / "thumb.jpg", quality=85)
        (root / "bare.py").write_text(BARE.format(image=str(root / "thumb.jpg")))
        prof_dir = root / "prof"
        prof_dir.mkdir()
        streamlit_run = [sys.executable, "-m", "streamlit", "run"]
        if args.profile:
            streamlit_run = [sys.executable, str(Path(__file__).resolve()), "--serve", str(prof_dir)]

        bare, url = start([*streamlit_run, str(root / "bare.py")], env, ROOT, root / "bare.log")
        try:
            ws = url.replace("http://", "ws://") + "/_stcore/stream"
            for _ in range(3):
                asyncio.run(sessions.first_view(ws, ""))
            bare_cpu, bare_wall = measure(ws, bare.pid, "", args.repeat)
        finally:
            stop(bare)
        print(f"bare page: {bare_cpu * 1000:.0f} ms CPU per session, first view {bare_wall * 1000:.0f} ms")
        if args.profile:
            top(prof_dir, "", args.profile)

        app, url = start([*streamlit_run, str(ROOT / "streamlit_app.py")], env, ROOT, root / "app.log")
        costs = {}
        try:
            warm(url, env, pages)
            ws = url.replace("http://", "ws://") + "/_stcore/stream"
            for page in pages:
                costs[page] = measure(ws, app.pid, page, args.repeat)
                cpu, wall = costs[page]
                print(f"{page or 'gallery':<11} {cpu * 1000:.0f} ms CPU per session ({cpu / bare_cpu:.2f}x bare), "
                      f"first view {wall * 1000:.0f} ms")
        finally:
            stop(app)
        if args.profile:
            for page in pages:
                top(prof_dir, page, args.profile)
    app_cpu = statistics.mean(c for c, _ in costs.values())
    print(f"load average after: {open('/proc/loadavg').read().strip()}")
    print(f"bare_cpu_ms={bare_cpu * 1000:.0f} app_cpu_ms={app_cpu * 1000:.0f} ratio={app_cpu / bare_cpu:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
