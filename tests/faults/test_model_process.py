"""The model's child process (~550 MB) never outlives its node: not when the node is killed
with SIGKILL while the model loads or once it is ready, and not when the node is stopped while
the model loads. Real `peerchat serve` processes, the real model."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.helpers import NodeProcess, peerchat_process

EXIT_LIMIT_SECONDS = 5.0


def _children(pid: int) -> dict[int, str]:
    """Every live descendant of pid, with its command line (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    cmd = (Path("/proc") / str(child) / "cmdline").read_bytes()
                except OSError:
                    continue
                found[child] = cmd.replace(b"\0", b" ").decode(errors="replace")
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _model_child(node: NodeProcess, timeout: float = 60) -> int:
    for _ in range(int(timeout / 0.05)):
        for pid, cmd in _children(node.proc.pid).items():
            if "multiprocessing" in cmd and "resource_tracker" not in cmd:
                return pid
        assert node.proc.poll() is None, node.tail()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no model process under the node: {node.tail()}")


async def _model_status(node: NodeProcess) -> str:
    try:
        async with httpx.AsyncClient(base_url=node.base_url, timeout=2) as http:
            return str((await http.get("/readyz")).json()["checks"]["model"])
    except (httpx.HTTPError, ValueError, KeyError):
        return "unreachable"


async def _gone_within(pids: list[int], limit: float) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < limit * 3:
        if not any(_alive(p) for p in pids):
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    return None


@pytest.fixture
def node_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {
        "PEERCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/model.db",
        "PEERCHAT_MODEL_ENABLED": "true",
        "PEERCHAT_MODEL_IN_PROCESS": "false",
    }


async def _run(node_env: dict[str, str], tmp_path: Path, how: str) -> tuple[str, float | None]:
    with peerchat_process(node_env, tmp_path) as node:
        child = await _model_child(node)
        descendants = list(_children(node.proc.pid))
        if how == "ready":
            for _ in range(int(240 / 0.25)):
                if await _model_status(node) == "ready":
                    break
                await asyncio.sleep(0.25)
        status = await _model_status(node)
        if how == "stop":
            node.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(node.proc.wait, 30)
        else:
            node.proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(node.proc.wait, 10)
        took = await _gone_within([child, *descendants], EXIT_LIMIT_SECONDS)
        for pid in [child, *descendants]:  # never leave one behind, whatever happened
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        return status, took


@pytest.mark.parametrize("how", ["kill-while-loading", "kill-when-ready", "stop-while-loading"])
async def test_the_model_process_dies_with_its_node(
    node_env: dict[str, str], tmp_path: Path, how: str
) -> None:
    mode = {"kill-while-loading": "kill", "kill-when-ready": "ready"}.get(how, "stop")
    status, took = await _run(node_env, tmp_path, mode)
    print(f"\nmodel process, {how} (model {status}): gone after {took}s")
    if how == "kill-when-ready":
        assert status == "ready"
    else:
        assert status in ("loading", "unreachable"), status
    assert took is not None and took <= EXIT_LIMIT_SECONDS, (how, took)
