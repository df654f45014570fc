"""uvicorn, told to close WebSockets with 1001 (going away) before it stops."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI


class Server(uvicorn.Server):
    """uvicorn's own shutdown closes WebSockets with 1012; peerchat clients reconnect on either,
    but 1001 is what the protocol promises, and it must go out before the sockets are dropped."""

    def __init__(self, app: FastAPI, **config: Any) -> None:
        super().__init__(uvicorn.Config(app, **config))
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        hub = getattr(self.app.state, "hub", None)
        if hub is not None:
            await hub.stop()
        await super().shutdown(sockets=sockets)
