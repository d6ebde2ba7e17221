"""artsim.config (settings read from the environment at call time) and artsim.files (atomic writes, hashing)."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest

from artsim import config
from artsim.files import atomic_write, sha256_file


def test_places_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARTSIM_DB", raising=False)
    monkeypatch.delenv("ARTSIM_GALLERY", raising=False)
    assert config.home() == tmp_path / "home"
    assert config.db_uri() == str(tmp_path / "home" / "db")
    assert config.gallery_dir() == tmp_path / "home" / "gallery"
    monkeypatch.setenv("ARTSIM_DB", "s3://bucket/artsim")
    assert config.db_uri() == "s3://bucket/artsim"


def test_onnx_exports_go_to_the_home_unless_a_shared_folder_is_named(tmp_path, monkeypatch):
    from artsim.embedding.runtimes.backends import onnx_path

    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARTSIM_EXPORTS", raising=False)
    assert config.exports_dir() == tmp_path / "home" / "onnx"
    assert onnx_path("efficientnet-lite0", "abc", 224).parent == tmp_path / "home" / "onnx"
    monkeypatch.setenv("ARTSIM_EXPORTS", str(tmp_path / "shared"))
    assert onnx_path("efficientnet-lite0", "abc", 224).parent == tmp_path / "shared"
    assert onnx_path("efficientnet-lite0", "abc", 224) != onnx_path("efficientnet-lite0", "abd", 224)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 500), ("12", 12), ("0", 0), ("-4", 0), ("lots", 500), ("", 500)]
)
def test_integer_settings_fall_back_to_their_default(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("ARTSIM_MAX_COLLECTION_PAINTINGS", raising=False)
    else:
        monkeypatch.setenv("ARTSIM_MAX_COLLECTION_PAINTINGS", value)
    assert config.setting("ARTSIM_MAX_COLLECTION_PAINTINGS") == expected


def test_keep_versions_is_a_duration(monkeypatch):
    monkeypatch.setenv("ARTSIM_KEEP_VERSIONS_S", "90")
    assert config.keep_versions() == timedelta(seconds=90)


def test_atomic_write_replaces_whole_files_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "deep" / "file.bin"
    atomic_write(target, b"first")
    atomic_write(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert os.listdir(target.parent) == ["file.bin"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "file.bin"
    atomic_write(target, b"old")
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["file.bin"]


def test_sha256_file_matches_hashlib(tmp_path):
    data = os.urandom(3 << 20)  # several read blocks
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()
