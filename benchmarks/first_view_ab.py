"""A new visitor's first view of the app and of a bare page, interleaved in one run (issue 23.5).

``app_latency.py`` measures the bare page first and the app minutes later; on a
shared machine the load changes in between. Here the visits alternate, bare page
then app, ``--repeat`` times, each a new Chromium context timed from the request
to the Gallery's first thumbnail on screen (``app_latency.first_view``, with its
browser breakdown). ``--baseline-repo DIR`` adds a third server: the app from
another checkout (e.g. ``git archive <commit>`` unpacked), visited in the same
rounds, for a before/after in one run.

All servers are warm (gallery embedded, the Gallery served once) and share one
store. The last line is exactly ``bare_s=<median> app_s=<median> ratio=<..>
[baseline_s=<median> baseline_ratio=<..>]``.

Usage::

    python benchmarks/first_view_ab.py --repeat 6
    python benchmarks/first_view_ab.py --repeat 6 --baseline-repo /tmp/artsim-before
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import app_latency  # noqa: E402
from class_load import gallery_subset, warm  # noqa: E402

from deploy import proxy  # noqa: E402


def start(script: Path, cwd: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = proxy.free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(proxy.replica_command(port, script), cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    proxy.wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
    return proc, f"http://127.0.0.1:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--gallery", type=Path, default=ROOT.parent / "shared" / "gallery")
    parser.add_argument("--per-artist", type=int, default=4)
    parser.add_argument("--baseline-repo", type=Path, help="another checkout of the app, visited in the same rounds")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average: {open('/proc/loadavg').read().strip()}; cpus: {os.cpu_count()}", flush=True)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="first-view-ab-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSIM_")}
        env.update(ARTSIM_HOME=str(root / "home"), ARTSIM_DB=str(root / "db"), ARTSIM_UMAP_WARMUP="0",
                   ARTSIM_GALLERY=str(gallery_subset(args.gallery, args.per_artist, root / "gallery")),
                   ARTSIM_MODEL=os.environ.get("ARTSIM_MODEL", "efficientnet-lite0"), ARTSIM_FETCH_WEIGHTS="0")
        (root / "bare.py").write_text(app_latency.BARE_APP)
        try:
            servers = {}
            proc, servers["bare"] = start(root / "bare.py", ROOT, env, root / "bare.log")
            procs.append(proc)
            proc, servers["app"] = start(ROOT / "streamlit_app.py", ROOT, {**env, "PYTHONPATH": str(ROOT)}, root / "app.log")
            procs.append(proc)
            warm(servers["app"], env, ("",))
            if args.baseline_repo:
                before = args.baseline_repo.resolve()
                proc, servers["baseline"] = start(before / "streamlit_app.py", before,
                                                  {**env, "PYTHONPATH": str(before)}, root / "baseline.log")
                procs.append(proc)
                warm(servers["baseline"], env, ("",))
            times: dict[str, list[float]] = {name: [] for name in servers}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=app_latency.CHROMIUM, args=app_latency.CHROMIUM_ARGS)
                try:
                    for url in servers.values():  # one untimed visit each: the browser's own start-up
                        app_latency.first_view(browser, url, time.monotonic())[1].close()
                    for _ in range(max(1, args.repeat)):
                        for name, url in servers.items():
                            info: dict = {}
                            elapsed, ctx = app_latency.first_view(browser, url, time.monotonic(), breakdown=info)
                            ctx.close()
                            times[name].append(elapsed)
                            print(f"{name:<8} {elapsed:.2f} s: {app_latency.describe(info)}", flush=True)
                finally:
                    browser.close()
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"load average after: {open('/proc/loadavg').read().strip()}")
    line = f"bare_s={med['bare']:.2f} app_s={med['app']:.2f} ratio={med['app'] / med['bare']:.2f}"
    if "baseline" in med:
        line += f" baseline_s={med['baseline']:.2f} baseline_ratio={med['baseline'] / med['bare']:.2f}"
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
