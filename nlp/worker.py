"""The model in a child process, behind the same ``score_batch`` as ``Model``.

Why: on a 2-core host, inference in a thread of the serving process competes with the event loop
for the GIL (tokenising and building results are Python), and fan-out latency suffered for it.
In its own process, at a lower priority, the model takes what CPU the serving process leaves.
The serving process never imports torch, which also keeps its memory small.

A crashed child (killed for memory, say) is replaced on the next call; the batch that was in
flight fails, and the caller leaves those messages unscored for its backfill.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from nlp.types import MessageScore, NlpRuntime

log = logging.getLogger(__name__)

NICE = 5
"""How much lower than the serving process the child runs: the event loop wins contended CPU."""
PR_SET_PDEATHSIG = 1
PARENT_CHECK_SECONDS = 1.0

_model = None  # the child's Model, set by _init


def _die_with_parent(parent: int) -> None:
    """The child must not outlive the serving process (~550 MB each): a node killed with
    SIGKILL, or stopped while the model loads, would otherwise leave it running. The kernel is
    asked to kill this process when its parent dies (Linux prctl); a thread that watches the
    parent's id is the fallback where prctl is missing or the spawning thread ended first."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init(weights_dir: str | None, threads: int, runtime: str | None, parent: int) -> None:
    global _model
    _die_with_parent(parent)  # first: loading takes seconds, and the parent may die meanwhile
    with contextlib.suppress(OSError):  # not permitted on some platforms
        os.nice(NICE)
    from nlp.model import load_model

    weights = Path(weights_dir) if weights_dir else None
    _model = load_model(weights, threads=threads, runtime=runtime)


def _ready() -> bool:
    return _model is not None


def _score(texts: list[str]) -> list[MessageScore]:
    assert _model is not None, "model process not initialised"
    return _model.score_batch(texts)


class ModelProcess:
    """``score_batch`` runs in one child process; calls block the calling thread only."""

    def __init__(
        self,
        weights_dir: Path | None = None,
        *,
        threads: int = 1,
        runtime: NlpRuntime | None = None,
    ) -> None:
        self._args = (
            str(weights_dir) if weights_dir else None,
            threads,
            runtime.value if runtime else None,
        )
        self._pool: ProcessPoolExecutor | None = None
        self._starting: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Spawn the child and wait until its model is loaded; raises what loading raised."""
        with self._lock:
            self._spawn()

    def _spawn(self) -> None:
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(*self._args, os.getpid()),
        )
        self._starting = pool
        try:
            pool.submit(_ready).result()
        except BrokenProcessPool as exc:
            pool.shutdown(wait=False, cancel_futures=True)
            # The initializer's own exception is logged by the child; say something useful here.
            raise RuntimeError("the model process failed to start (see its log above)") from exc
        finally:
            self._starting = None
        self._pool = pool

    def score_batch(self, texts: Sequence[str]) -> list[MessageScore]:
        with self._lock:
            if self._pool is None:
                log.warning("model process gone; starting a new one")
                self._spawn()
            pool = self._pool
        assert pool is not None
        try:
            return pool.submit(_score, list(texts)).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            log.error("model process died while scoring %d messages", len(texts))
            raise

    def kill(self) -> None:
        """End the child now, also while it is still loading (``start`` then raises). Takes no
        lock: ``start`` holds it for as long as loading takes."""
        for pool in (self._starting, self._pool):
            if pool is not None:
                # The executor has no public way to stop a child mid-initializer.
                for process in list(getattr(pool, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        process.kill()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
