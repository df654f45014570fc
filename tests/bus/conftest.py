"""The bus contract runs against every backend: the in-process one, and a real Redis (a private
redis-server of the test's own; in CI the shared one, each test in a namespace of its own)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from app.bus.factory import Backend, open_backend
from app.metrics import Metrics
from tests.support import services
from tests.support.processes import free_port, private_redis, wait_port

OpenNode = Callable[[], Awaitable[Backend]]
"""Another node on the same bus: with the in-process backend, the one node there is."""


@pytest.fixture(scope="session")
def bus_redis_url() -> Iterator[str]:
    if services.IN_CI:
        yield services.REDIS_URL
        return
    port = free_port()
    with private_redis(port):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture(params=["memory", "redis"])
async def open_node(request: pytest.FixtureRequest) -> AsyncIterator[OpenNode]:
    started: list[Backend] = []
    if request.param == "memory":
        url = "memory://"
    else:
        url = request.getfixturevalue("bus_redis_url")
        if services.IN_CI:
            await services.check_redis()
        else:
            await wait_port(int(url.rsplit(":", 1)[1].split("/")[0]))
    namespace = f"bus-test-{uuid.uuid4().hex[:10]}"
    shared: Backend | None = None

    async def open_one() -> Backend:
        nonlocal shared
        if url == "memory://" and shared is not None:
            return shared
        backend = open_backend(
            url, node_id=f"node-{len(started)}", metrics=Metrics(), namespace=namespace,
            op_timeout=1.0,
        )  # fmt: skip
        await backend.bus.start()
        started.append(backend)
        shared = backend
        return backend

    yield open_one
    for backend in started:
        await backend.bus.stop()
