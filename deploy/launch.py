"""Start N artsim replicas behind nginx in the foreground: ``python -m deploy.launch --replicas 2 --port 8080``.

Every replica gets this process's environment (set ``ARTSIM_DB`` and
``ARTSIM_HOME`` once: all replicas share them). Stops everything on Ctrl-C or
SIGTERM, so a process manager (systemd, honcho) can run it as one service.
``--print-config`` writes the nginx configuration for given replica ports
instead, for an nginx run by the system (README, "Deployment").
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from deploy import proxy


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the proxy and replicas until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="app processes (about one per 2 cores)")
    parser.add_argument("--port", type=int, default=8080, help="the proxy's port on --host")
    parser.add_argument("--host", default="127.0.0.1", help="the proxy's address (replicas stay on 127.0.0.1)")
    parser.add_argument("--run-dir", type=Path, help="nginx's pid, logs and temp files (default: a temp folder)")
    parser.add_argument("--print-config", metavar="PORTS",
                        help="print nginx.conf for replicas on these comma-separated ports and exit")
    args = parser.parse_args(argv)
    if args.print_config:
        run_dir = args.run_dir or Path("/var/lib/artsim/nginx")
        ports = [int(p) for p in args.print_config.split(",")]
        (run_dir / "static").mkdir(parents=True, exist_ok=True)
        static = proxy.static_root(run_dir / "static")
        print(proxy.nginx_config(f"{args.host}:{args.port}", [f"127.0.0.1:{p}" for p in ports], run_dir, static))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwinds the cluster: replicas and nginx stop
    with proxy.cluster(args.replicas, port=args.port, run_dir=args.run_dir, listen_host=args.host) as running:
        print(f"artsim: {running.url} -> {', '.join(running.replicas)}", flush=True)
        while all(p.poll() is None for p in running.procs):
            time.sleep(1)
        print("artsim: a process exited; stopping", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
