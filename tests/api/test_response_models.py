"""The response models declare every key the domain's views produce: each view, built from real
rows, validates against its model with nothing left over (an undeclared key would still reach
clients, but the schema would not describe it)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app.accounts.admin import account_view
from app.api import responses as r
from app.chat import canned, groups, queue
from app.chat.views import message_view
from app.core.clock import utcnow
from app.outcomes import checkins
from app.safety import alerts, moderation
from app.storage.models import Alert, CannedResponse, CheckIn, Message, Report, Room, User

NOW = utcnow()


def _room(**extra: Any) -> Room:
    fields: dict[str, Any] = {
        "id": "room_1", "kind": "one_to_one", "status": "waiting", "name": None, "topic": "sleep",
        "language": "es", "created_by": "p_1", "created_at": NOW, "waiting_since": NOW,
        "assigned_to": None, "last_seq": 3, "risk_level": "elevated", "risk_score": 0.6,
        "last_sentiment": -0.4, "sentiment_trend": None, "channel": "web", "paused_at": None,
    }  # fmt: skip
    return Room(**(fields | extra))


def _views() -> list[tuple[type[BaseModel], dict[str, Any]]]:
    alert = Alert(
        id="al_1", room_id="room_1", severity="crisis", status="open", reason="plain words",
        excerpt="", evidence=[{"source": "lexicon", "category": "x", "past": False}],
        message_seq=2, attached_count=1, created_at=NOW,
    )  # fmt: skip
    report = Report(
        id="rp_1", room_id="room_1", seq=2, message_sender_id="p_2", reported_by="p_1",
        reason=None, status="open", created_at=NOW,
    )  # fmt: skip
    user = User(
        id="u_1", username="sam", handle="Sam", role="peer_worker", disabled=False, created_at=NOW
    )
    item = CannedResponse(
        id="c_1", title="Hello", body="Hi", position=1, updated_at=NOW, updated_by="u_1"
    )
    message = Message(
        id="m_1", room_id="room_1", seq=1, client_msg_id=None, sender_id="system",
        sender_handle="peerchat", sender_role="system", body="Hola", sent_at=NOW,
    )  # fmt: skip
    checkin = CheckIn(room_id="room_1", phase="start", mood=2, comment=None, created_at=NOW)
    group = _room(kind="group", status="active", name="Evening", language=None)
    return [
        (r.AlertOut, alerts.alert_view(alert)),
        (r.RoomEntry, queue.room_entry(_room())),
        (r.RoomEntry, queue.room_entry(_room(), queue.Match(4, ("speaks es",)))),
        (r.GroupOut, groups.group_view(group)),
        (r.GroupOut, groups.group_view(group, members=3)),
        (r.ReportOut, moderation.report_view(report)),
        (r.ReportOut, moderation.report_view(report, "the words")),
        (r.AccountOut, account_view(user)),
        (r.CannedOut, canned.view(item)),
        (r.MessageOut, message_view(message)),
        (r.CheckinScaleOut, checkins.scale()),
        (r.CheckinOut, checkins.checkin_view(checkin) | {"replaced": False}),
    ]


@pytest.mark.parametrize(("model", "view"), _views())
def test_every_key_of_the_view_is_declared(model: type[BaseModel], view: dict[str, Any]) -> None:
    checked = model.model_validate(view)
    assert not checked.model_extra, f"{model.__name__} lacks {sorted(checked.model_extra or ())}"
    # exclude_unset gives back exactly the view: nothing dropped, nothing added as null.
    assert checked.model_dump(mode="json", by_alias=True, exclude_unset=True) == view


def test_an_undeclared_key_still_reaches_the_client() -> None:
    view = alerts.alert_view(
        Alert(
            id="al_2",
            room_id="room_1",
            severity="warning",
            status="open",
            reason="r",
            excerpt="",
            evidence=None,
            attached_count=0,
            created_at=NOW,
        )
    ) | {"a_newer_field": 2}
    checked = r.AlertOut.model_validate(view)
    assert checked.model_dump(mode="json", exclude_unset=True)["a_newer_field"] == 2
