"""Micro-batching bridge between an asyncio service and the synchronous model.

Requests are queued and grouped into batches of up to ``max_batch`` texts or whatever arrived
within ``max_wait_ms`` of the first one; each batch runs in ONE dedicated worker thread, so the
event loop never blocks on inference and the model never runs two batches at once.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from nlp.types import MessageScore


class Scores(Protocol):
    def score_batch(self, texts: list[str]) -> list[MessageScore]: ...


_Item = tuple[str, "asyncio.Future[MessageScore]"]


class BatchingScorer:
    """``await scorer.score(text)`` from many coroutines; batching happens behind the scenes."""

    def __init__(self, model: Scores, *, max_batch: int = 32, max_wait_ms: float = 5.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._model = model
        self._max_batch = max_batch
        self._max_wait = max(0.0, max_wait_ms) / 1000.0
        self._queue: asyncio.Queue[_Item | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False

    async def start(self) -> None:
        if self._task is not None:
            return
        self._closing = False
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="peerchat-nlp")
        self._task = asyncio.create_task(self._run(), name="peerchat-nlp-batcher")

    async def stop(self) -> None:
        """Finish everything already queued, then release the worker thread."""
        if self._task is None or self._queue is None:
            return
        self._closing = True
        await self._queue.put(None)
        await self._task
        self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def score(self, text: str) -> MessageScore:
        if self._queue is None or self._closing:
            raise RuntimeError("BatchingScorer is not running (call start() first)")
        fut: asyncio.Future[MessageScore] = asyncio.get_running_loop().create_future()
        await self._queue.put((text, fut))
        return await fut

    async def _collect(self, first: _Item) -> tuple[list[_Item], bool]:
        """A batch starting with ``first``; the flag says the stop sentinel was seen."""
        assert self._queue is not None
        batch = [first]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch, stopping = await self._collect(first)
            live = [(t, f) for t, f in batch if not f.done()]
            if not live:
                continue
            try:
                results = await loop.run_in_executor(
                    self._executor, self._model.score_batch, [t for t, _ in live]
                )
            except Exception as exc:
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), res in zip(live, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
