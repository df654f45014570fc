"""SMS counters, registered on the node's own registry (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class SmsMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.received = Counter(
            "peerchat_sms_received", "Texts received and processed, by what they did",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.refused = Counter(
            "peerchat_sms_webhooks_refused", "Webhooks refused for a missing or bad signature",
            registry=r,
        )  # fmt: skip
        self.sent = Counter("peerchat_sms_sent", "Texts the provider took", registry=r)
        self.send_errors = Counter(
            "peerchat_sms_send_errors", "Failed sends: retried later, or given up",
            ["result"], registry=r,
        )  # fmt: skip
        self.delivery = Counter(
            "peerchat_sms_delivery_reports", "Delivery reports, by status", ["status"],
            registry=r,
        )  # fmt: skip
