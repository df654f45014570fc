"""uvicorn, told to close WebSockets with 1001 (going away) before it stops, on the WebSocket
protocol and without the keepalive timers that the node's heartbeat replaces."""

from __future__ import annotations

import gc
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

GC_THRESHOLDS = (10_000, 20, 50)
"""Python's defaults are (700, 10, 10). Each connection keeps ~30 coroutines and their frames
alive, and under load the old generation was collected every few seconds."""


class Server(uvicorn.Server):
    """uvicorn's own shutdown closes WebSockets with 1012; peerchat clients reconnect on either,
    but 1001 is what the protocol promises, and it must go out before the sockets are dropped."""

    def __init__(self, app: FastAPI, *, freeze_gc: bool = False, **config: Any) -> None:
        # Keepalive pings are the node's heartbeat sweep (app/ws/heartbeat.py), which works on
        # the websockets-sansio protocol's objects: uvicorn's own keepalive (two timers per
        # socket, each waking the loop on its own) is off.
        config.setdefault("ws", "websockets-sansio")
        config.setdefault("ws_ping_interval", None)
        config.setdefault("ws_ping_timeout", None)
        super().__init__(uvicorn.Config(app, **config))
        self.app = app
        self.freeze_gc = freeze_gc

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.freeze_gc:
            # Everything made while starting (modules, mappers, routes, the app) lives as long
            # as the process. Left to the collector, every full collection walks it all again:
            # measured 135-270 ms pauses of the event loop every few seconds under load. Frozen
            # objects are skipped by the collector (reference counting still frees them).
            gc.collect()
            gc.freeze()
            # Fewer young collections, so that the short-lived objects of each message rarely
            # survive into the old generation, whose collection is the long pause.
            gc.set_threshold(*GC_THRESHOLDS)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        ws = getattr(self.app.state, "ws", None)
        if ws is not None:
            await ws.stop()
        await super().shutdown(sockets=sockets)
