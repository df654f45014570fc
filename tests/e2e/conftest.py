"""Fixtures for the browser tests: one real server and one headless Chromium for the session,
and, when a collected test asks for `model_live`, a second server with the real model, started
in the background at the beginning so that the model loads while the other tests run.

The tests skip, saying why, when Debian's chromium or the playwright package is missing, except
under CI=true, where a missing browser is a failure: CI must run them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    ModelServer,
    chromium_missing_reason,
    live_server,
)


def _require_browser() -> None:
    reason = chromium_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"e2e browser tests cannot run under CI: {reason}")
    pytest.skip(f"e2e browser tests skipped: {reason}")


@pytest.fixture(scope="session")
async def live() -> AsyncIterator[LiveServer]:
    async with live_server() as server:
        await server.add_staff("sam", "peer_worker", handle="Sam")
        await server.add_staff("alex", "peer_worker", handle="Alex")
        await server.add_staff("jo", "supervisor", handle="Jo")
        yield server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session", autouse=True)
async def _model_server(
    request: pytest.FixtureRequest, live: LiveServer
) -> AsyncIterator[ModelServer | None]:
    # After `live`: Alembic migrations must not run in two threads at once (shared state).
    wanted = any(
        "model_live" in getattr(item, "fixturenames", ()) for item in request.session.items
    )
    if not wanted or chromium_missing_reason() is not None:
        yield None
        return
    server = ModelServer(model_enabled=True, alert_ack_seconds=2)
    server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(scope="session")
async def model_live(_model_server: ModelServer | None) -> LiveServer:
    """A server with model_enabled=True and alert_ack_seconds=2, ready (GET /readyz is 200)."""
    _require_browser()
    assert _model_server is not None
    return await _model_server.wait()
