"""The web front end: three pages and their static assets, plus security headers on every response.

The front end is plain ES modules and CSS (no build step) in the repository's `frontend/` folder,
found relative to this package so that an editable install serves the working tree. Every HTTP
response carries a strict Content-Security-Policy: the pages contain no inline script or style,
and all data is rendered with DOM APIs, so the policy costs the front end nothing.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Awaitable, Callable
from os import PathLike
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware import HttpMiddleware

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"

# Pages by path. Each is a whole app for one audience; they share js/ and css/.
PAGES = {"/": "index.html", "/worker": "worker.html", "/supervisor": "supervisor.html"}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self' ws: wss:",
        "manifest-src 'self'",
        "media-src 'none'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
        b"browsing-topics=(), interest-cohort=()",
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class SecurityHeaders(HttpMiddleware):
    """Pure ASGI: adds the security headers to every HTTP response (API, pages, errors alike),
    without buffering bodies, and leaves WebSocket traffic alone. A header the app set itself
    is kept, so a route can tighten its own policy."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class _FrontendFiles(StaticFiles):
    """Static assets, revalidated on every use (ETag/Last-Modified make that cheap) so that a
    deploy reaches people at once instead of after a cache lifetime."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("cache-control", "no-cache")
        return response


def _file_route(path: Path, media_type: str) -> Callable[[], Awaitable[FileResponse]]:
    async def serve() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"cache-control": "no-cache"})

    return serve


def mount_frontend(app: FastAPI, directory: Path | None = None) -> None:
    """Serve the pages at /, /worker and /supervisor, assets under /static/, the manifest at
    /manifest.webmanifest (its scope is the whole site), and add the security headers."""
    root = directory or FRONTEND_DIR
    if not root.is_dir():
        raise RuntimeError(f"front end folder not found: {root}")
    mimetypes.add_type("application/manifest+json", ".webmanifest")
    mimetypes.add_type("text/javascript", ".js")
    routes = {route: (name, "text/html") for route, name in PAGES.items()} | {
        "/manifest.webmanifest": ("manifest.webmanifest", "application/manifest+json"),
        "/favicon.ico": ("icons/icon-192.png", "image/png"),
    }
    for route, (name, media_type) in routes.items():
        app.add_api_route(
            route, _file_route(root / name, media_type), methods=["GET", "HEAD"],
            include_in_schema=False,
        )  # fmt: skip
    app.mount("/static", _FrontendFiles(directory=root), name="static")
    app.add_middleware(SecurityHeaders)
