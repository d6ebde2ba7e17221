"""The background-embedding memo: one result per store, model and paintings *with their metadata*."""

from __future__ import annotations

from dataclasses import replace

from artsim.inputs.collection import Painting
from dashboard import embedding


def _paintings() -> list[Painting]:
    return [Painting(sha256=f"{i:064x}", path=f"/g/a/{i}.jpg", artist="Ada Blue", title=f"Study {i}")
            for i in range(3)]


def test_same_images_under_other_names_are_another_result(monkeypatch, tmp_path):
    # Regression: keyed by sha256 alone, a collection holding the same images as another
    # under other artist names was answered with the other collection's names.
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "db"))
    paintings = _paintings()
    renamed = [replace(p, artist="[Login](https:evil.example)") for p in paintings]
    assert embedding._key(paintings, "style") == embedding._key(list(paintings), "style")
    assert embedding._key(paintings, "style") != embedding._key(renamed, "style")
    assert embedding._key(paintings, "style") != embedding._key(paintings, "efficientnet-lite0")


def test_another_store_is_another_result(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "one"))
    first = embedding._key(_paintings(), "style")
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "two"))
    assert embedding._key(_paintings(), "style") != first
