"""The programme view, for supervisors: does peer support help, and how is the load shared?

Only aggregates are shown, and only where at least MIN_GROUP conversations (or groups) stand
behind a figure, so that nobody can be singled out from a quiet week. Every figure has the
same shape, `{"value", "n", "suppressed", "reason"}`: `n` is how many conversations (or
groups) the figure summarises, and a figure with fewer than MIN_GROUP has `value` null,
`suppressed` true and a `reason` in words.

Percentiles are computed here in Python over the rows, the same on SQLite and PostgreSQL,
by linear interpolation between closest ranks (numpy's default, "type 7"): for sorted values
x[0..N-1] and fraction p, h = (N - 1) p and the result is x[floor h] + (h - floor h) *
(x[floor h + 1] - x[floor h]). The median is the 0.5 percentile, so with an even count it is
the mean of the two middle values.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from app.core.clock import iso, utcnow
from app.core.context import Domain
from app.core.enums import RoomKind
from app.core.errors import BadRequest, Forbidden
from app.core.identity import Principal
from app.outcomes.reports import Conversation, load_conversations
from app.storage.models import Message, Room, User

MIN_GROUP = 5
DEFAULT_DAYS = 30
MAX_DAYS = 366
PERCENTILE_METHOD = "linear"
CSV_HEADER = ("figure", "value", "n", "suppressed")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks; see the module docstring."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    h = (len(ordered) - 1) * fraction
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def figure(value: float | None, n: int, *, unit: str = "conversations") -> dict[str, Any]:
    if n < MIN_GROUP or value is None:
        return {
            "value": None,
            "n": n,
            "suppressed": True,
            "reason": f"fewer than {MIN_GROUP} {unit}",
        }
    return {"value": value, "n": n, "suppressed": False, "reason": None}


def _parse_moment(text: str, *, name: str, end: bool) -> datetime:
    """An ISO date or date-time. A bare date as `to` means the end of that day, so that
    `from=2026-11-01&to=2026-11-30` covers all of November 30th. No zone means UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an ISO date (2026-11-01) or date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_range(
    start: str | None, end: str | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The period [from, to): by default the last 30 days; at most a year and a day."""
    now = now or utcnow()
    upper = _parse_moment(end, name="to", end=True) if end else now
    lower = (
        _parse_moment(start, name="from", end=False)
        if start
        else upper - timedelta(days=DEFAULT_DAYS)
    )
    if lower > upper:
        raise BadRequest("from must not be after to")
    if upper - lower > timedelta(days=MAX_DAYS):
        raise BadRequest(f"the period must be at most {MAX_DAYS} days")
    return lower, upper


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    handle: str
    conversations: int
    active_hours: float


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _pct(values: Sequence[float], fraction: float) -> float | None:
    """A percentile of seconds, to a tenth of a second; None when there is nothing to rank."""
    return round(percentile(values, fraction), 1) if values else None


def _conversation_figures(convs: list[Conversation], now: datetime) -> dict[str, Any]:
    answered = [c for c in convs if c.claimed_at is not None]
    waits = [w for c in answered if (w := c.wait_seconds) is not None]
    durations = [d for c in answered if (d := c.duration_seconds(now)) is not None]
    paired = [c for c in convs if c.mood_change is not None]
    befores = [float(c.mood_before) for c in paired if c.mood_before is not None]
    afters = [float(c.mood_after) for c in paired if c.mood_after is not None]
    changes = [float(c.mood_change) for c in paired if c.mood_change is not None]
    with_alerts = [c for c in convs if c.alert_count]
    acks = [a for c in convs if (a := c.ack_seconds) is not None]
    return {
        "conversations": figure(len(convs), len(convs)),
        "conversations_answered": figure(len(answered), len(answered)),
        "wait_seconds_median": figure(_pct(waits, 0.5), len(waits)),
        "wait_seconds_p90": figure(_pct(waits, 0.9), len(waits)),
        "duration_seconds_median": figure(_pct(durations, 0.5), len(durations)),
        "mood_before_mean": figure(_round(_mean(befores), 2), len(paired)),
        "mood_after_mean": figure(_round(_mean(afters), 2), len(paired)),
        "mood_change_mean": figure(_round(_mean(changes), 2), len(paired)),
        "alerts_share": figure(
            _round(len(with_alerts) / len(convs), 4) if convs else None, len(convs)
        ),
        "ack_seconds_median": figure(_pct(acks, 0.5), len(acks)),
    }


def _worker_loads(
    convs: list[Conversation], handles: dict[str, str], now: datetime
) -> list[WorkerLoad]:
    """Per worker, the conversations they hold (a transferred one counts for the worker it
    ended with) and their hours of active conversation. Workers with fewer than MIN_GROUP
    conversations are left out, so that no single conversation can be read off the list."""
    per: dict[str, list[float]] = {}
    for conv in convs:
        duration = conv.duration_seconds(now)
        if conv.assigned_to is None or duration is None:
            continue
        per.setdefault(conv.assigned_to, []).append(duration)
    loads = [
        WorkerLoad(handles.get(uid, "unknown"), len(spans), round(sum(spans) / 3600, 2))
        for uid, spans in per.items()
        if len(spans) >= MIN_GROUP
    ]
    return sorted(loads, key=lambda w: (-w.conversations, w.handle))


async def programme(
    domain: Domain,
    *,
    viewer: Principal,
    start: str | None = None,
    end: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Conversations opened in [from, to), groups with messages in it, and the figures."""
    if not viewer.has_oversight:
        raise Forbidden("only supervisors can see the programme view")
    now = now or utcnow()
    lower, upper = parse_range(start, end, now=now)
    async with domain.db.read() as session:
        convs = await load_conversations(session, Room.created_at >= lower, Room.created_at < upper)
        worker_ids = sorted({c.assigned_to for c in convs if c.assigned_to})
        handles = {
            uid: handle
            for uid, handle in (
                await session.execute(select(User.id, User.handle).where(User.id.in_(worker_ids)))
            ).all()
        }
        groups = (
            await session.execute(
                select(Message.room_id, func.count())
                .join(Room, Room.id == Message.room_id)
                .where(
                    Room.kind == RoomKind.GROUP,
                    Message.sender_role != "system",
                    Message.sent_at >= lower,
                    Message.sent_at < upper,
                )
                .group_by(Message.room_id)
            )
        ).all()
    active_groups = len(groups)
    figures = _conversation_figures(convs, now)
    figures["groups_active"] = figure(active_groups, active_groups, unit="groups")
    figures["group_messages"] = figure(sum(int(n) for _, n in groups), active_groups, unit="groups")
    return {
        "from": iso(lower),
        "to": iso(upper),
        "min_group": MIN_GROUP,
        "percentile_method": PERCENTILE_METHOD,
        "figures": figures,
        "workers": [
            {"handle": w.handle, "conversations": w.conversations, "active_hours": w.active_hours}
            for w in _worker_loads(convs, handles, now)
        ],
    }


def _csv_value(value: float | int | None) -> str:
    return "" if value is None else str(value)


def to_csv(view: dict[str, Any]) -> str:
    """One row per figure, `figure,value,n,suppressed`; each worker gives two rows,
    `worker:<handle>:conversations` and `worker:<handle>:active_hours` (the `worker:` prefix
    also keeps a handle such as `=cmd()` from being read as a formula by a spreadsheet)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, fig in view["figures"].items():
        writer.writerow(
            (name, _csv_value(fig["value"]), fig["n"], "true" if fig["suppressed"] else "false")
        )
    for worker in view["workers"]:
        for key in ("conversations", "active_hours"):
            writer.writerow(
                (
                    f"worker:{worker['handle']}:{key}",
                    _csv_value(worker[key]),
                    worker["conversations"],
                    "false",
                )
            )
    return out.getvalue()
