"""create_app(): wiring only. Each part is built here once and handed to what needs it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app import __version__
from app.api import errors
from app.api.middleware import BodyLimit, RefuseNul
from app.api.routes import (
    alerts,
    canned,
    client_config,
    docs,
    groups,
    health,
    moderation,
    outcomes,
    privacy,
    rooms,
    sessions,
    staff,
    users,
)
from app.assembly import build_domain
from app.bus.factory import Backend, open_backend
from app.jobs import RetentionJob
from app.metrics import Metrics
from app.monitoring.model_service import ModelService
from app.monitoring.pipeline import ScoringPipeline
from app.safety.escalation import AlertResender
from app.settings import Settings, load_settings
from app.sms import routes as sms_routes
from app.sms.service import SmsService
from app.storage.database import Database
from app.web import mount_frontend
from app.ws import endpoint as ws_endpoint
from app.ws.node import WsNode
from app.ws.wire import KeepRawSend

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def make_bus(settings: Settings, metrics: Metrics) -> Backend:
    """The bus and presence that settings.redis_url names by its scheme."""
    return open_backend(
        settings.redis_url,
        node_id=settings.node_id,
        metrics=metrics,
        namespace=settings.redis_namespace,
        op_timeout=settings.bus_op_timeout_seconds,
        queue_size=settings.bus_publish_queue,
        max_age=settings.bus_event_max_age_seconds,
        stream_max_age=settings.alert_stream_max_age_seconds,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    metrics = Metrics()
    app = FastAPI(
        title="peerchat",
        version=__version__,
        lifespan=_lifespan(settings, metrics),
        docs_url=None,  # FastAPI's page needs a CDN and an inline script: see routes/docs.py
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    _install_http(app, settings)
    return app


def _lifespan(settings: Settings, metrics: Metrics) -> Lifespan:
    """The node's parts, started in dependency order and stopped in the reverse."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        backend = make_bus(settings, metrics)
        bus = backend.bus
        await bus.start()
        domain = build_domain(settings, db, bus)
        ws = WsNode(domain, metrics, backend.presence)
        await ws.start()
        model = ModelService(
            enabled=settings.model_enabled,
            threads=settings.model_threads,
            weights_dir=settings.model_weights_dir,
            in_process=settings.model_in_process,
            runtime=settings.model_runtime,
        )
        pipeline = ScoringPipeline(domain, model, metrics)
        domain.events.on_message_stored(pipeline.on_message_stored)
        resender = AlertResender(domain)
        await model.start()
        await pipeline.start()
        await resender.start()
        sms = SmsService.from_settings(domain, metrics.registry)
        if sms is not None:
            await sms.start()
        app.state.sms = sms
        app.state.domain = domain
        app.state.ws = ws
        app.state.hub = ws.hub  # this node's connections, for tests and diagnostics
        retention_job = RetentionJob(domain)
        retention_job.start()
        app.state.model = model
        log.info("peerchat node %s started (bus: %s)", settings.node_id, type(bus).__name__)
        try:
            yield
        finally:
            await retention_job.stop()
            if sms is not None:
                await sms.stop()
            await ws.stop()
            await domain.writer.stop()  # after the transports: nothing submits any more
            await resender.stop()
            await pipeline.stop()
            await model.stop()
            await bus.stop()
            await db.dispose()

    return lifespan


def _install_http(app: FastAPI, settings: Settings) -> None:
    """The error format, the middleware and every router: HTTP, SMS webhooks, WebSocket, and
    the web app."""
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_frame_bytes)
    app.add_middleware(RefuseNul)
    app.add_middleware(KeepRawSend)  # outermost: WebSocket frames are written past the others
    routers = (sessions.router, rooms.router, groups.router, alerts.router, staff.router)
    extra = (client_config.router, canned.router, users.router)
    for router in (*routers, moderation.router, privacy.router, outcomes.router, *extra):
        app.include_router(router, prefix=API_PREFIX)
    docs.install(app, openapi_url=f"{API_PREFIX}/openapi.json")
    app.include_router(health.router)
    app.include_router(sms_routes.router)
    app.include_router(ws_endpoint.router)
    mount_frontend(app, Path(settings.frontend_dir) if settings.frontend_dir else None)
