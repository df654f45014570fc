"""Monitoring in the browser, on its own server with the real model loaded: a crisis message
raises an alert on the supervisor's page by itself, and an alert nobody acknowledges is sent
again and updated in place.

The model takes a while to load (5 to 30 s on a busy machine), so these tests share one server
(`model_live`, in conftest.py), started in the background when the session begins and awaited on
/readyz, with `alert_ack_seconds=2` so that re-sends come quickly."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, PHONE, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer
from tests.e2e.test_browser import assert_clean

CRISIS = "I have the pills ready and I'm going to take them all tonight"


async def test_crisis_message_raises_model_alert_for_the_supervisor(
    model_live: LiveServer, browser: Browser
) -> None:
    supervisor = await open_person(browser, model_live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "ria", STAFF_PASSWORD)
    await flows.wait_socket_ready(supervisor.page)
    participant = await open_person(browser, model_live.base_url, "/", PHONE)
    handle = await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Low mood")
    await flows.wait_socket_ready(participant.page)
    await flows.send(participant.page, CRISIS)
    await flows.expect_once(participant.page, CRISIS)

    # Raised by the model, not by a button: the card quotes the message and says why.
    card = supervisor.page.locator(".alert-card", has_text="pills ready")
    await expect(card.locator(".severity")).to_have_text("Crisis", timeout=20_000)
    await expect(card.locator("blockquote")).to_have_text(CRISIS)
    await expect(card.locator(".reason")).to_contain_text("crisis language")
    await expect(supervisor.page.locator("#alert-banner")).to_contain_text("Crisis alert")
    # The dashboard counts it, and the room is listed as a crisis.
    await expect(supervisor.page.locator("#stats")).to_contain_text("1 crisis")
    row = supervisor.page.locator("#rooms-table tbody tr").first
    await expect(row.locator(".risk")).to_have_text("Crisis")
    # Participants never see scores or alerts: they get words of support in the conversation,
    # which name no level or score (a helpline's own name, "... Crisis Lifeline", is the one
    # place the word may appear).
    await expect(participant.page.locator(".support-card")).to_be_visible()
    named = await participant.page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => !el.closest('.support-resources'))
            .filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && /crisis/i.test(n.data)))
            .map((el) => el.textContent)"""
    )
    assert named == [], named

    # Opening it goes straight to the message.
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_contain_text("Acknowledged")
    await card.get_by_role("button", name="Open conversation").click()
    await expect(supervisor.page.locator("#viewer .msg.highlight .body")).to_have_text(CRISIS)
    assert handle
    assert_clean(supervisor, participant)
    await supervisor.close()
    await participant.close()


async def test_unacknowledged_alert_is_resent_and_updated_in_place(
    model_live: LiveServer, browser: Browser
) -> None:
    supervisor = await open_person(browser, model_live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "ria", STAFF_PASSWORD)
    await flows.wait_socket_ready(supervisor.page)
    participant = await open_person(browser, model_live.base_url, "/", PHONE)
    handle = await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Loneliness")
    await participant.page.get_by_role("button", name="I need help now").click()
    await participant.page.get_by_role("button", name="Yes, alert a supervisor").click()
    await expect(participant.page.locator("#help-confirmation")).to_be_visible()

    card = supervisor.page.locator(".alert-card", has_text=handle)
    await expect(card).to_have_count(1)
    await expect(card.locator(".resent")).to_be_hidden()
    # Nobody acknowledges: after alert_ack_seconds (2 s) it is sent again, and again: the same
    # card counts the re-sends, no second card appears.
    await expect(card.locator(".resent")).to_contain_text(
        re.compile(r"Re-sent [1-9]"), timeout=15_000
    )
    await expect(card.locator(".resent")).to_contain_text(
        re.compile(r"Re-sent ([2-9]|\d\d)"), timeout=15_000
    )
    await expect(card).to_have_count(1)
    await expect(supervisor.page.locator("#alert-banner")).to_contain_text("Still waiting")

    # Acknowledged: the re-sends stop.
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_contain_text("Acknowledged")
    count = await card.locator(".resent").text_content()
    await supervisor.page.wait_for_timeout(3000)
    assert await card.locator(".resent").text_content() == count
    await expect(card).to_have_count(1)
    assert_clean(supervisor, participant)
    await supervisor.close()
    await participant.close()
