"""The model's life in the service: loaded off the event loop, retried when it fails."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from nlp.crisis_lexicon import CrisisLexicon, default_lexicon
from nlp.risk import RiskThresholds, assess
from nlp.scorer import BatchingScorer
from nlp.types import NlpRuntime, Risk
from nlp.worker import ModelProcess

log = logging.getLogger(__name__)
Status = Literal["disabled", "loading", "ready", "failed"]
RETRY_SECONDS = (10, 30, 60, 120, 300)


class ModelService:
    """Loads off the event loop so the node serves (and stores messages) meanwhile; readiness
    says "loading" or "failed" until it is up. The lexicon alone stays available throughout,
    so crisis language is still caught while the model is away. By default the model runs in
    a child process (nlp.worker); ``in_process`` keeps it in a thread of this one."""

    def __init__(
        self,
        *,
        enabled: bool,
        threads: int,
        weights_dir: str | None = None,
        in_process: bool = False,
        runtime: NlpRuntime | None = None,
    ) -> None:
        self.status: Status = "loading" if enabled else "disabled"
        self.scorer: BatchingScorer | None = None
        self.lexicon: CrisisLexicon | None = None
        self._threads = threads
        self._weights = Path(weights_dir) if weights_dir else None
        self._in_process = in_process
        self._runtime = runtime
        self._process: ModelProcess | None = None
        self._loading: ModelProcess | None = None
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self._on_ready: list[Callable[[], Awaitable[None]]] = []

    def on_ready(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_ready.append(callback)

    async def start(self) -> None:
        if self.status == "disabled":
            return
        self.lexicon = await asyncio.to_thread(default_lexicon)
        self._task = asyncio.create_task(self._load_forever(), name="model-loader")

    async def stop(self) -> None:
        self._stopped = True
        loading = self._loading
        if loading is not None:  # stopped while the model loads: the child goes now
            await asyncio.to_thread(loading.kill)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.scorer is not None:
            await self.scorer.stop()
            self.scorer = None
        if self._process is not None:
            await asyncio.to_thread(self._process.close)
            self._process = None

    def lexicon_risk(self, text: str) -> Risk | None:
        if self.lexicon is None:
            return None
        return assess(self.lexicon.scan(text), None, RiskThresholds())

    def _load(self) -> Any:
        if not self._in_process:
            process = ModelProcess(self._weights, threads=self._threads, runtime=self._runtime)
            self._loading = process
            try:
                process.start()
            finally:
                self._loading = None
            if self._stopped:  # stop() came while loading
                process.kill()
                process.close()
                raise RuntimeError("the service stopped while the model loaded")
            self._process = process
            return process
        # Imported here, in the worker thread: importing torch takes seconds, and the event
        # loop must keep serving meanwhile.
        from nlp.model import load_model

        return load_model(self._weights, threads=self._threads, runtime=self._runtime)

    async def _load_forever(self) -> None:
        attempt = 0
        while True:
            self.status = "loading"
            try:
                model = await asyncio.to_thread(self._load)
                scorer = BatchingScorer(model)
                await scorer.start()
            except Exception as exc:
                self.status = "failed"
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                attempt += 1
                log.error("model failed to load (%s); retrying in %ss", exc, delay)
                await asyncio.sleep(delay)
                continue
            self.scorer = scorer
            self.status = "ready"
            log.info("model ready")
            for callback in self._on_ready:
                await callback()
            return
