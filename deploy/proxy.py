"""N artsim replicas behind Debian's nginx: the proxy's configuration, and a launcher for both.

Why nginx: Debian ships it (``nginx-light`` is enough), it proxies websockets,
compresses on the fly and serves precompressed files (``gzip_static``), and it
runs as a plain foreground process from a generated file, so the tests and the
benchmark start it exactly as production does.

What the configuration does (:func:`nginx_config`):

* **Sticky sessions.** A visitor's first response sets the cookie
  ``artsim_replica`` to a random key; nginx hashes that key to a replica
  (``hash ... consistent``), so the page, its websocket (``/_stcore/stream``), its
  uploads and media (held in that replica's memory) all reach one replica.
  A client without cookies (a load check, a link unfurler) is spread by its
  request id. ``ip_hash`` would send a whole lecture hall behind one NAT to one replica.
* **Compression.** Streamlit's own server never compresses ``/`` or
  ``/static/``. Its hashed assets are served by nginx itself from
  :func:`static_root`: links to Streamlit's files plus a gzip copy of each
  text asset, written once per Streamlit version (``gzip_static``). HTML and
  JSON from the replicas are gzipped on the fly.
* **Cache lifetimes.** ``/static/`` names change with their content: a year,
  ``immutable``. HTML stays ``no-cache`` (Streamlit's own header).
* **Health.** Each replica answers ``/_stcore/health`` ("ok" once its runtime
  is up); the process manager probes each replica's port, and the proxy passes
  ``/_stcore/health`` to a live replica.

Every replica shares one ``ARTSIM_DB`` (and ``ARTSIM_HOME``): collections, tours
and uploads made through one are read through any other.

Standard library only.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import streamlit

ROOT = Path(__file__).resolve().parents[1]
NGINX = "/usr/sbin/nginx"
#: Sticky-session cookie set by the proxy.
COOKIE = "artsim_replica"
#: Header naming the replica that answered (``$upstream_addr``), for tests and operators.
REPLICA_HEADER = "X-Artsim-Replica"
#: Suffixes nginx serves gzip-compressed (everything else under /static/ is already compressed).
COMPRESSIBLE = (".js", ".css", ".json", ".svg", ".map", ".txt", ".html", ".ttf", ".wasm", ".mjs")
#: Content types nginx compresses on the fly (text/html always is).
GZIP_TYPES = "text/css text/plain text/javascript application/javascript application/json image/svg+xml"
#: Seconds a replica may take to answer its health check after start.
START_TIMEOUT_S = 90.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_static_dir() -> Path:
    """Streamlit's built front end (index.html and ``static/``)."""
    return Path(streamlit.__file__).parent / "static"


def static_root(cache_dir: Path) -> Path:
    """A folder mirroring Streamlit's ``static/`` with a ``.gz`` beside each text asset.

    Built once per Streamlit version under ``cache_dir`` (links to the original
    files plus gzip copies at level 9; about 2 s on 2 cores) and reused after.
    Returns the folder to use as nginx's ``root`` for ``/static/``.
    """
    source = streamlit_static_dir()
    root = cache_dir / f"streamlit-{streamlit.__version__}"
    done = root / ".complete"
    if done.exists():
        return root
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
    for path in (source / "static").rglob("*"):
        if not path.is_file():
            continue
        target = tmp / "static" / path.relative_to(source / "static")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
        if path.suffix in COMPRESSIBLE and path.stat().st_size >= 1024:
            with open(path, "rb") as src, gzip.open(target.with_name(target.name + ".gz"), "wb", 9) as dst:
                shutil.copyfileobj(src, dst)
    (tmp / ".complete").write_text(streamlit.__version__)
    try:
        tmp.rename(root)
    except OSError:  # another launcher built it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def nginx_config(listen: str, replicas: Sequence[str], run_dir: Path, static: Path | None) -> str:
    """nginx.conf for a foreground nginx on ``listen`` (``host:port``) in front of ``replicas``.

    ``run_dir`` holds the pid file, the error log and nginx's temp folders
    (nothing under /var: no root needed). ``static`` is :func:`static_root`'s
    folder, or None to proxy ``/static/`` to the replicas (compressed on the fly).
    """
    servers = "\n".join(f"        server {r} max_fails=2 fail_timeout=5s;" for r in replicas)
    temp = "\n".join(f"    {kind}_temp_path {run_dir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    proxy = f"""proxy_pass http://artsim;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            add_header {REPLICA_HEADER} $upstream_addr always;"""
    if static is not None:
        static_block = f"""location /static/ {{
            root {static};
            gzip_static on;
            etag on;
            add_header Cache-Control "public, max-age=31536000, immutable";
            try_files $uri @replica;
        }}"""
    else:
        static_block = """location /static/ {
            try_files /nonexistent @replica;
        }"""
    # As root, nginx's workers would run as "nobody" and could not read a private run folder.
    user = f"user {pwd.getpwuid(0).pw_name};\n" if os.geteuid() == 0 else ""
    return f"""# Generated by deploy/proxy.py: artsim behind nginx ({len(replicas)} replica(s)).
{user}daemon off;
worker_processes auto;
pid {run_dir / "nginx.pid"};
error_log {run_dir / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
{temp}
    access_log off;
    server_tokens off;
    default_type application/octet-stream;
    types {{
        text/html html; text/css css; application/javascript js mjs; application/json json map;
        image/svg+xml svg; image/png png; image/jpeg jpg jpeg; image/webp webp; image/gif gif;
        font/woff2 woff2; font/woff woff; font/ttf ttf; application/wasm wasm; text/plain txt;
    }}
    client_max_body_size 250m;
    gzip on;
    gzip_comp_level 5;
    gzip_min_length 1024;
    gzip_proxied any;
    gzip_vary on;
    gzip_types {GZIP_TYPES};

    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
    # Sticky sessions: a random key in a cookie, hashed to a replica (see deploy/proxy.py).
    map $cookie_{COOKIE} $artsim_route {{ "" $request_id; default $cookie_{COOKIE}; }}
    map $cookie_{COOKIE} $artsim_set_cookie {{ "" "{COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax"; default ""; }}

    upstream artsim {{
        hash $artsim_route consistent;
{servers}
        keepalive 32;
    }}

    server {{
        listen {listen};
        location /_stcore/stream {{
            {proxy}
            proxy_buffering off;
            proxy_read_timeout 1d;
            proxy_send_timeout 1d;
        }}
        {static_block}
        location @replica {{
            {proxy}
        }}
        location / {{
            {proxy}
            add_header Set-Cookie $artsim_set_cookie;
        }}
    }}
}}
"""


def wait_healthy(base: str, timeout: float = START_TIMEOUT_S, proc: subprocess.Popen | None = None) -> None:
    """Block until ``base/_stcore/health`` answers 200; RuntimeError on timeout or if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{base}: process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base}: no health answer within {timeout:.0f} s")
        time.sleep(0.25)


def replica_command(port: int, script: Path = ROOT / "streamlit_app.py") -> list[str]:
    """``streamlit run`` of the app on 127.0.0.1:``port``, headless."""
    return [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true"]


@dataclass
class Cluster:
    """A running proxy and its replicas (see :func:`cluster`)."""

    url: str
    replicas: list[str]
    procs: list[subprocess.Popen] = field(default_factory=list)
    run_dir: Path = Path()

    def pids(self) -> list[int]:
        """Process ids of the replicas (the proxy's last)."""
        return [p.pid for p in self.procs]


@contextlib.contextmanager
def cluster(
    n: int,
    env: dict[str, str] | None = None,
    *,
    port: int | None = None,
    run_dir: Path | None = None,
    script: Path = ROOT / "streamlit_app.py",
    static_cache: Path | None = None,
    log_dir: Path | None = None,
    listen_host: str = "127.0.0.1",
) -> Iterator[Cluster]:
    """Start ``n`` replicas of ``script`` and nginx in front of them on 127.0.0.1; stop all on exit.

    ``env`` is every replica's environment (one shared ``ARTSIM_DB``). Yields once
    every replica and the proxy answer their health checks.
    """
    env = dict(os.environ if env is None else env)
    with contextlib.ExitStack() as stack:
        if run_dir is None:
            run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="artsim-proxy-")))
        run_dir.mkdir(parents=True, exist_ok=True)
        log_dir = log_dir or run_dir
        procs: list[subprocess.Popen] = []

        def stop() -> None:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

        stack.callback(stop)
        ports = [free_port() for _ in range(n)]
        for i, p in enumerate(ports):
            log = stack.enter_context(open(log_dir / f"replica-{i}.log", "w"))
            procs.append(subprocess.Popen(replica_command(p, script), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        cache_dir = static_cache or Path(env.get("ARTSIM_HOME") or Path.home() / ".cache" / "artsim") / "proxy-static"
        cache_dir.mkdir(parents=True, exist_ok=True)
        static = static_root(cache_dir)  # built while the replicas start
        port = port or free_port()
        listen = f"{listen_host}:{port}"
        conf = run_dir / "nginx.conf"
        conf.write_text(nginx_config(listen, [f"127.0.0.1:{p}" for p in ports], run_dir, static))
        nginx_log = stack.enter_context(open(log_dir / "nginx.log", "w"))
        procs.append(subprocess.Popen([NGINX, "-c", str(conf), "-p", str(run_dir), "-e", str(run_dir / "error.log")],
                                      stdout=nginx_log, stderr=subprocess.STDOUT))
        replicas = [f"http://127.0.0.1:{p}" for p in ports]
        for base, proc in zip(replicas, procs, strict=False):
            wait_healthy(base, proc=proc)
        url = f"http://127.0.0.1:{port}" if listen_host in ("0.0.0.0", "127.0.0.1") else f"http://{listen}"
        wait_healthy(url, timeout=10, proc=procs[-1])
        yield Cluster(url=url, replicas=replicas, procs=procs, run_dir=run_dir)
