"""Prometheus metrics, one registry per app so that several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_stored = Counter("peerchat_messages_stored", "Messages stored", registry=r)
        self.messages_unscored = Gauge(
            "peerchat_messages_unscored",
            "Messages stored but not yet scored (model loading, failed or behind)",
            registry=r,
        )
        self.messages_scored = Counter("peerchat_messages_scored", "Messages scored", registry=r)
        self.alerts_raised = Counter(
            "peerchat_alerts_raised", "Alerts raised", ["severity"], registry=r
        )
        self.ws_connections = Gauge(
            "peerchat_ws_connections", "Open WebSocket connections on this node", registry=r
        )
        self.ws_slow_consumers = Counter(
            "peerchat_ws_slow_consumers_closed",
            "Connections closed because they could not keep up",
            registry=r,
        )
        self.bus_errors = Counter(
            "peerchat_bus_errors", "Bus publish or subscribe failures", registry=r
        )
        self.bus_stalled = Gauge(
            "peerchat_bus_stalled",
            "1 while Redis is connected but not answering in time (a hung server), else 0",
            registry=r,
        )
        self.bus_queue = Gauge(
            "peerchat_bus_publish_queue", "Events waiting to be published to Redis", registry=r
        )
        self.bus_dropped = Counter(
            "peerchat_bus_publish_dropped",
            "Events not published (queue full or too old); other nodes read them from storage",
            registry=r,
        )
        self.ws_revoked = Counter(
            "peerchat_ws_revoked",
            "Connections closed because their account was disabled or their token expired",
            registry=r,
        )
        self.ws_heartbeat_closed = Counter(
            "peerchat_ws_heartbeat_closed",
            "Connections closed because they left the heartbeat's ping unanswered (gone clients)",
            registry=r,
        )
        self.scoring_seconds = Histogram(
            "peerchat_scoring_seconds",
            "Time from message stored to scored",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
