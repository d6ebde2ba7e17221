"""The cached layer's settings: a changed model setting is read at once, not after the cache expires."""

from __future__ import annotations

from dashboard import cache


def test_default_model_follows_artsim_model(monkeypatch):
    # Regression: one cached answer for every setting kept the previous default model
    # (a page then said "efficientnet-lite0" while ARTSIM_MODEL named style).
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    monkeypatch.setenv("ARTSIM_MODEL", "style")
    assert cache.model_choices()[1:] == ("style", "chosen by ARTSIM_MODEL")
    monkeypatch.setenv("ARTSIM_MODEL", "efficientnet-lite0")
    assert cache.model_choices()[1] == "efficientnet-lite0"
