"""Outcomes in a real browser: the participant's optional check-ins at the start and the end of
a conversation, the supervisor's Programme section, and the worker's own recent conversations."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, PHONE, Person, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer


def assert_clean(*people: Person) -> None:
    problems = [problem for person in people for problem in person.problems]
    assert not problems, "\n".join(problems)


async def _login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_check_ins_and_the_programme_view(live: LiveServer, browser: Browser) -> None:
    participant = await open_person(browser, live.base_url, "/", PHONE)
    await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Low mood")
    page = participant.page
    start = page.locator('.checkin[data-phase="start"]')
    await expect(
        start.get_by_role("heading", name="How are you feeling right now?")
    ).to_be_visible()
    # A choice reveals the optional few words; both go through.
    await expect(start.get_by_role("button", name="Send")).to_be_hidden()
    await start.get_by_role("radio", name="Low", exact=True).check()
    await start.get_by_label("Anything you'd like to add?").fill("tired and anxious")
    await start.get_by_role("button", name="Send").click()
    await expect(page.locator(".checkin-thanks")).to_contain_text("Thank you.")
    room_id = await flows.participant_room_id(page)

    async with httpx.AsyncClient(base_url=live.base_url) as http:
        worker = await _login(http, "sam")
        assert (
            await http.post(f"/api/v1/rooms/{room_id}/claim", headers=worker)
        ).status_code == 200
        assert (
            await http.post(f"/api/v1/rooms/{room_id}/close", headers=worker, json={})
        ).status_code == 200
        end = page.locator('.checkin[data-phase="end"]')
        await expect(
            end.get_by_role("heading", name="Before you go: how are you feeling now?")
        ).to_be_visible()
        await end.get_by_role("radio", name="Good", exact=True).check()
        await end.get_by_role("button", name="Send").click()
        await expect(page.locator(".checkin-thanks")).to_contain_text(
            "Thank you for letting us know."
        )
        supervisor_auth = await _login(http, "jo")
        outcome = (
            await http.get(f"/api/v1/rooms/{room_id}/outcome", headers=supervisor_auth)
        ).json()
        assert outcome["mood"] == {"before": 2, "after": 4, "change": 2}
        assert outcome["comments"]["before"] == "tired and anxious"
        # Five more requests, withdrawn at once, so that the period has enough to show figures.
        for _ in range(5):
            person = (await http.post("/api/v1/sessions/anonymous", json={})).json()
            auth = {"Authorization": f"Bearer {person['token']}"}
            made = (await http.post("/api/v1/support-requests", json={}, headers=auth)).json()
            assert (
                await http.post(f"/api/v1/rooms/{made['room_id']}/leave", headers=auth)
            ).status_code == 200

    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "jo", STAFF_PASSWORD)
    programme = supervisor.page.locator("#programme")
    await expect(programme.get_by_role("heading", name="Programme")).to_be_visible()
    conversations = programme.locator('.stat[data-figure="conversations"]')
    await expect(conversations).to_have_attribute("data-suppressed", "false")
    await expect(conversations.locator(".value")).to_have_text(re.compile(r"^\d+$"))
    await expect(programme.locator(".stat")).to_have_count(10)
    await expect(programme.locator("figure.chart svg, figure.chart .chart-empty")).to_have_count(3)
    async with supervisor.page.expect_download() as download:
        await programme.get_by_role("button", name="Download CSV").click()
    assert (await download.value).suggested_filename.endswith(".csv")

    worker_page = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(worker_page.page, "sam", STAFF_PASSWORD)
    panel = worker_page.page.locator("#my-outcomes")
    await panel.locator("summary").click()
    await expect(panel.locator(f'li[data-room-id="{room_id}"]')).to_contain_text("mood 2 → 4 (+2)")
    await expect(panel.locator("#my-outcomes-summary")).to_contain_text("holding")
    assert_clean(participant, supervisor, worker_page)
    for person in (participant, supervisor, worker_page):
        await person.close()
