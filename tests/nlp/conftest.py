"""Shared fixtures: the real model is loaded once per test session (a few seconds)."""

from __future__ import annotations

import pytest

from nlp.model import Model


@pytest.fixture(scope="session")
def real_model() -> Model:
    from nlp.encoder import ModelFilesMissing
    from nlp.model import load_model

    try:
        return load_model()
    except ModelFilesMissing as exc:  # pragma: no cover - only without committed weights
        pytest.skip(f"trained weights not available: {exc}")
