"""Every stored message scored, off the send path; rooms, staff and supervisors told."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.core.clock import utcnow
from app.core.context import Domain
from app.core.enums import AlertSeverity, RiskLevel, Role
from app.core.text import excerpt as text_excerpt
from app.metrics import Metrics
from app.monitoring.context import RECENT_MESSAGES, cues_of, level_in_context
from app.monitoring.model_service import ModelService
from app.monitoring.shift_tracker import ShiftTracker
from app.safety import alerts, scores, support
from app.safety.scores import ScoreRecord
from app.safety.support import Why
from nlp.crisis_classifier import not_positive
from nlp.shift import ShiftKind, ShiftSignal
from nlp.types import MessageScore, Risk

log = logging.getLogger(__name__)
MAX_BATCH = 64
MAX_QUEUED = 20_000
"""Past this the newest wait in storage and the backfill scores them: memory stays bounded."""
GATHER_SECONDS = 0.05
"""How long a partial batch waits for more before it is scored. A batch of one costs the model
~9 ms, a batch of 32 ~1 ms a message, and each batch is one more database transaction; scores
are not urgent (crisis words are triaged separately, at once), 50 ms is not noticed."""
BACKFILL_SECONDS = 5.0
BACKFILL_AGE_SECONDS = 3.0
"""Only messages this old are backfilled, so the node that stored one scores it first."""


def shift_reason(record: ScoreRecord) -> str:
    """A detected shift in plain words for staff: how fast, and what showed it. The figures
    behind it go to the alert's evidence (shift_evidence), not into these words."""
    how = "a sudden drop" if record.shift_kind == ShiftKind.DROP else "a slow slide"
    mood = "mood fell"
    distress = "distress rose: more risk language, sadness or fear"
    what = {
        ShiftSignal.SENTIMENT: mood,
        ShiftSignal.DISTRESS: distress,
        ShiftSignal.BOTH: f"{mood}; {distress}",
    }[ShiftSignal(record.shift_signal or ShiftSignal.SENTIMENT)]
    return f"emotional shift: {how}, {what}"


def shift_evidence(record: ScoreRecord) -> dict[str, Any]:
    return {
        "source": "shift_detector",
        "kind": record.shift_kind,
        "signal": record.shift_signal,
        "sentiment_change": round(record.shift_delta, 4),
        "distress_change": round(record.shift_distress, 4),
    }


class ScoringPipeline:
    def __init__(self, domain: Domain, model: ModelService, metrics: Metrics) -> None:
        self.domain = domain
        self.model = model
        self.metrics = metrics
        self.shifts = ShiftTracker(domain)
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._triage: deque[dict[str, Any]] = deque()
        self._triage_wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._counted: tuple[Any, int] | None = None
        """The database's change marker when unscored messages were last counted, and the count."""

    # the listener the domain was handed: never blocks, never awaits

    def on_message_stored(self, message: dict[str, Any]) -> None:
        if message["sender"]["role"] == "system" or self.model.status == "disabled":
            return
        if message["sender"]["role"] == Role.PARTICIPANT and len(self._triage) < MAX_QUEUED:
            self._triage.append(message)
            self._triage_wake.set()
        if len(self._queue) >= MAX_QUEUED:
            return  # stays unscored in storage; the backfill gets it
        self._queue.append(message)
        self._wake.set()

    async def start(self) -> None:
        if self.model.status == "disabled":
            return
        self.model.on_ready(self._backfill_once)
        self._tasks = [
            asyncio.create_task(self._consume(), name="scoring"),
            asyncio.create_task(self._triage_forever(), name="crisis-triage"),
            asyncio.create_task(self._backfill_forever(), name="scoring-backfill"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _consume(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            if len(self._queue) < MAX_BATCH:
                await asyncio.sleep(GATHER_SECONDS)
            batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            try:
                await self.process(batch)
            except Exception:
                log.exception("scoring a batch of %d failed; they stay unscored", len(batch))

    async def process(self, batch: list[dict[str, Any]]) -> None:
        batch = [m for m in batch if m["message_id"] not in self._in_flight]
        if not batch:
            return
        ids = {m["message_id"] for m in batch}
        self._in_flight |= ids
        try:
            scorer = self.model.scorer
            if scorer is None:
                return  # unscored for now; the backfill scores them once the model is back
            results = await asyncio.gather(
                *(scorer.score(m["body"]) for m in batch), return_exceptions=True
            )
            scored = [
                (m, r) for m, r in zip(batch, results, strict=True)
                if isinstance(r, MessageScore)
            ]  # fmt: skip
            if len(scored) < len(batch):
                log.warning("model failed on %d messages", len(batch) - len(scored))
            await self._apply(scored)
        finally:
            self._in_flight -= ids

    async def _apply(self, scored: list[tuple[dict[str, Any], MessageScore]]) -> None:
        records = []
        await self.shifts.prefetch(
            {(m["room_id"], m["sender"]["id"]) for m, _ in scored
             if m["sender"]["role"] == Role.PARTICIPANT}
        )  # fmt: skip
        levels_now: dict[str, list[str]] = {}  # this batch's levels, newest first, per room
        for message, score in scored:
            from_participant = message["sender"]["role"] == Role.PARTICIPANT
            shift = None
            if from_participant:
                score = await self._in_context(message, score, levels_now.get(message["room_id"]))
                levels_now.setdefault(message["room_id"], []).insert(0, score.risk.level)
                shift = await self.shifts.update(
                    room_id=message["room_id"],
                    sender_id=message["sender"]["id"],
                    seq=message["seq"],
                    score=score.sentiment.score,
                    risk_level=score.risk.level,
                    emotions=score.emotions,
                )
            records.append(
                ScoreRecord(
                    message_id=message["message_id"],
                    room_id=message["room_id"],
                    seq=message["seq"],
                    sender_id=message["sender"]["id"],
                    from_participant=from_participant,
                    sentiment_label=score.sentiment.label,
                    sentiment_score=score.sentiment.score,
                    emotions=dict(score.emotions),
                    risk_level=score.risk.level,
                    risk_reasons=tuple(score.risk.reasons),
                    shift_detected=bool(shift and shift.detected),
                    shift_kind=shift.kind if shift else None,
                    shift_delta=shift.delta if shift else 0.0,
                    shift_signal=shift.signal if shift else None,
                    shift_distress=shift.distress if shift else 0.0,
                    risk_evidence=tuple(score.risk.evidence),
                )
            )
        shown = await scores.record(self.domain, records)
        now = utcnow()
        for (message, _), record in zip(scored, records, strict=True):
            self.metrics.messages_scored.inc()
            self.metrics.scoring_seconds.observe(
                (now - datetime.fromisoformat(message["sent_at"])).total_seconds()
            )
            if not record.from_participant:
                continue
            await self.domain.events.room_risk(
                record.room_id, record.room_risk_event(shown.get(record.room_id))
            )
            await self._escalate(message, record)

    async def _in_context(
        self, message: dict[str, Any], score: MessageScore, earlier: list[str] | None
    ) -> MessageScore:
        """The room's recent risk feeds the message's level (app.monitoring.context)."""
        if score.risk.level == RiskLevel.CRISIS:
            return score
        cues = cues_of(message["body"])
        if not cues.final_goodbye:
            return score  # no history needed: spare the query
        recent = list(earlier or []) + await scores.recent_risk_levels(
            self.domain,
            room_id=message["room_id"],
            before_seq=message["seq"],
            limit=RECENT_MESSAGES,
        )
        level, reason = level_in_context(score.risk.level, cues, recent[:RECENT_MESSAGES])
        if reason is None:
            return score
        evidence = {
            "source": "conversation",
            "rule": "farewell_after_distress",
            "recent_levels": recent[:RECENT_MESSAGES],
        }
        risk = Risk(level, (*score.risk.reasons, reason), (*score.risk.evidence, evidence))
        return replace(score, risk=risk, sentiment=not_positive(score.sentiment, None))

    async def _escalate(self, message: dict[str, Any], record: ScoreRecord) -> None:
        excerpt = text_excerpt(message["body"])
        if record.risk_level == RiskLevel.CRISIS:
            reason = "crisis language: " + "; ".join(
                record.risk_reasons or ("the message reads as a crisis",)
            )
            await self._raise(
                record.room_id, AlertSeverity.CRISIS, reason, excerpt, record.seq,
                record.risk_evidence,
            )  # fmt: skip
            await self._offer_support(message)
        if record.shift_detected:
            reason = shift_reason(record)
            await self._raise(
                record.room_id, AlertSeverity.WARNING, reason, excerpt, record.seq,
                (shift_evidence(record),),
            )  # fmt: skip

    async def _raise(
        self,
        room_id: str,
        severity: str,
        reason: str,
        excerpt: str,
        seq: int,
        evidence: tuple[dict[str, Any], ...] = (),
    ) -> None:
        raised = await alerts.raise_or_attach(
            self.domain, room_id=room_id, severity=severity, reason=reason,
            excerpt=excerpt, message_seq=seq, evidence=evidence,
        )  # fmt: skip
        if raised.created:
            self.metrics.alerts_raised.labels(severity=severity).inc()

    async def _triage_forever(self) -> None:
        """Crisis words raise an alert at once, whatever the model is doing: loading, failed,
        or behind on a busy node. The model's fuller judgement follows and attaches to it."""
        while True:
            if not self._triage:
                self._triage_wake.clear()
                await self._triage_wake.wait()
            batch = [self._triage.popleft() for _ in range(min(256, len(self._triage)))]
            try:
                risks = await asyncio.to_thread(self._lexicon_risks, [m["body"] for m in batch])
                for message, risk in zip(batch, risks, strict=True):
                    if risk is not None and risk.level == RiskLevel.CRISIS:
                        await self._crisis_now(message, risk)
            except Exception:
                log.exception("crisis triage of %d messages failed", len(batch))

    def _lexicon_risks(self, bodies: list[str]) -> list[Risk | None]:
        return [self.model.lexicon_risk(body) for body in bodies]

    async def _crisis_now(self, message: dict[str, Any], risk: Risk) -> None:
        room_id = message["room_id"]
        reason = "crisis language: " + "; ".join(risk.reasons)
        await self._raise(room_id, AlertSeverity.CRISIS, reason, text_excerpt(message["body"]),
                          message["seq"], tuple(risk.evidence))  # fmt: skip
        if await scores.raise_room_level(self.domain, room_id=room_id, level=RiskLevel.CRISIS):
            await self.domain.events.queue_changed(room_id)
        await self._offer_support(message)

    async def _offer_support(self, message: dict[str, Any]) -> None:
        """The person gets calm words and crisis resources at once (at most one offer per
        room per interval, whichever of triage and the model sees the crisis first)."""
        try:
            await support.offer(
                self.domain, room_id=message["room_id"],
                participant_id=message["sender"]["id"], why=Why.CONCERN,
            )  # fmt: skip
        except Exception:
            log.warning("the support offer for a crisis message failed", exc_info=True)

    # backfill: what was stored but not scored (model away, node crashed, queue full)

    async def _backfill_forever(self) -> None:
        while True:
            await asyncio.sleep(BACKFILL_SECONDS)
            try:
                await self._backfill_once()
            except Exception:
                log.warning("backfill failed", exc_info=True)

    async def _backfill_once(self) -> None:
        # Only a commit changes how many messages wait for a score: while none was made, an
        # idle node skips the count when nothing waited, or when no model could score them
        # anyway (the count only feeds the gauge then). Where the database has no marker
        # (PostgreSQL), it counts every time.
        marker = await self.domain.db.change_marker()
        if (
            marker is not None
            and self._counted is not None
            and self._counted[0] == marker
            and (self._counted[1] == 0 or self.model.scorer is None)
        ):
            return
        waiting = await scores.count_unscored(self.domain)
        self._counted = (marker, waiting)
        self.metrics.messages_unscored.set(waiting)
        if self.model.scorer is None or not waiting:
            return
        from app.chat.views import message_view

        for _ in range(50):  # bounded: a message the model keeps failing on cannot spin this
            rows = await scores.unscored(
                self.domain, older_than_seconds=BACKFILL_AGE_SECONDS, limit=MAX_BATCH
            )
            fresh = [message_view(r) for r in rows if r.id not in self._in_flight]
            if not fresh:
                break
            await self.process(fresh)
            if len(rows) < MAX_BATCH:
                break
        self.metrics.messages_unscored.set(await scores.count_unscored(self.domain))
