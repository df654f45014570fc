"""axe-core on every page and main state, in a real browser against a real server: the
participant's landing, start, waiting, chat and ended screens and the helplines; the peer
worker's sign-in, queue and room; the supervisor's sign-in, alerts and room. No serious or
critical violation anywhere, on a phone and on a desktop.

axe-core is vendored in tests/e2e/vendor (MPL-2.0) and served to the page from its own origin,
so that the page's Content-Security-Policy stays on while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, Route, ViewportSize, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, Person, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer
from tests.support.wsclient import WsClient

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_PATH = "/static/__tests__/axe.min.js"  # answered by the test, never by the server
SMALL_PHONE: ViewportSize = {"width": 360, "height": 740}
BLOCKING = {"serious", "critical"}
# Fixed once, must stay fixed: every message log had these.
NAMED = {"listitem", "aria-allowed-role"}


async def with_axe(person: Person, base_url: str) -> None:
    source = AXE.read_bytes()

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=source)

    await person.context.route(f"{base_url}{AXE_PATH}", serve)


async def violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(url=AXE_PATH)
    result = await page.evaluate(
        """async () => {
            const r = await window.axe.run(document, { resultTypes: ['violations'] });
            return r.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
            }));
        }"""
    )
    return list(result)


class Audit:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.states: list[str] = []

    async def check(self, page: Page, state: str) -> None:
        await page.wait_for_timeout(300)  # let live updates and transitions settle
        found = await violations(page)
        self.states.append(state)
        for v in found:
            if v["impact"] in BLOCKING or v["id"] in NAMED:
                self.failures.append(
                    f"{state}: {v['id']} ({v['impact']}): {v['help']} {v['nodes']}"
                )

    def assert_clean(self) -> None:
        assert not self.failures, "\n".join(self.failures)


async def file_a_report(live: LiveServer) -> None:
    """A reported message in a group, so that the staff pages show their report cards too."""
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "sam", "password": STAFF_PASSWORD}
        )
        staff = {"Authorization": f"Bearer {login.json()['token']}"}
        made = await http.post("/api/v1/groups", json={"name": "Evenings"}, headers=staff)
        room_id = made.json()["room_id"]
        people = []
        for _ in range(2):
            person = (await http.post("/api/v1/sessions/anonymous", json={})).json()
            auth = {"Authorization": f"Bearer {person['token']}"}
            joined = await http.post(f"/api/v1/groups/{room_id}/join", headers=auth)
            assert joined.status_code == 200, joined.text
            people.append((person["token"], auth))
        ws_url = live.base_url.replace("http", "ws", 1) + "/ws"
        client = await WsClient.connect(ws_url, people[0][0])
        try:
            await client.join(room_id)
            said = await client.say(room_id, "nobody would miss you")
        finally:
            await client.close()
        filed = await http.post(
            f"/api/v1/rooms/{room_id}/messages/{said['seq']}/report",
            json={"reason": "unkind"},
            headers=people[1][1],
        )
        assert filed.status_code == 201, filed.text


async def run_every_state(live: LiveServer, browser: Browser, viewport: ViewportSize) -> Audit:
    audit = Audit()
    name = "phone" if viewport["width"] < 600 else "desktop"
    await file_a_report(live)

    participant = await open_person(browser, live.base_url, "/", viewport)
    await with_axe(participant, live.base_url)
    page = participant.page
    await expect(page.get_by_role("button", name="Start anonymously")).to_be_visible()
    await audit.check(page, f"{name}: participant landing")
    await flows.start_anonymously(page)
    await audit.check(page, f"{name}: participant start")
    await page.get_by_role("button", name="Helplines").click()
    await expect(page.locator("#resources-dialog")).to_be_visible()
    await audit.check(page, f"{name}: participant helplines")
    await page.locator("#resources-dialog").get_by_role("button", name="Close").click()
    await flows.request_support(page, "Low mood", "It has been a hard week.")
    await expect(page.locator(".checkin")).to_be_visible()
    await audit.check(page, f"{name}: participant waiting")
    room_id = await flows.participant_room_id(page)

    worker = await open_person(browser, live.base_url, "/worker", viewport)
    await with_axe(worker, live.base_url)
    await expect(worker.page.get_by_label("Username")).to_be_visible()
    await audit.check(worker.page, f"{name}: worker sign-in")
    await flows.sign_in(worker.page, "sam", STAFF_PASSWORD)
    await expect(worker.page.locator(f'.queue-item[data-room-id="{room_id}"]')).to_be_visible()
    await expect(worker.page.locator(".report-card").first).to_be_visible()
    await audit.check(worker.page, f"{name}: worker queue")
    await flows.claim(worker.page, room_id)
    await flows.send(worker.page, "Hi, I'm Sam. I'm here.")
    await flows.expect_once(page, "Hi, I'm Sam. I'm here.")
    await flows.send(page, "Thank you for coming.")
    await flows.expect_once(worker.page, "Thank you for coming.")
    await audit.check(worker.page, f"{name}: worker room")
    await audit.check(page, f"{name}: participant chat")

    supervisor = await open_person(browser, live.base_url, "/supervisor", viewport)
    await with_axe(supervisor, live.base_url)
    await expect(supervisor.page.get_by_label("Username")).to_be_visible()
    await audit.check(supervisor.page, f"{name}: supervisor sign-in")
    await flows.sign_in(supervisor.page, "jo", STAFF_PASSWORD)
    await flows.wait_socket_ready(supervisor.page)
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        token = await page.evaluate(
            "() => JSON.parse(sessionStorage.getItem('peerchat.participant')).token"
        )
        response = await http.post(
            f"/api/v1/rooms/{room_id}/help", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
    card = supervisor.page.locator(".alert-card").first
    await expect(card).to_be_visible()
    await expect(supervisor.page.locator(".report-card").first).to_be_visible()
    await audit.check(supervisor.page, f"{name}: supervisor alerts")
    await card.get_by_role("button", name="Open conversation").click()
    await expect(supervisor.page.locator("#viewer .msg").first).to_be_visible()
    await audit.check(supervisor.page, f"{name}: supervisor room")

    await worker.page.get_by_role("button", name="Close", exact=True).click()
    # The help press above left a crisis alert unresolved: closing asks what was done.
    await worker.page.get_by_label("What happened (required)").fill("Shared the helplines.")
    await worker.page.get_by_role("button", name="Close conversation").click()
    await expect(page.locator("#ended")).to_be_visible()
    await audit.check(page, f"{name}: participant ended")
    await audit.check(worker.page, f"{name}: worker room ended")

    problems = participant.problems + worker.problems + supervisor.problems
    assert not problems, "\n".join(problems)
    for person in (participant, worker, supervisor):
        await person.close()
    return audit


async def test_no_serious_violations_on_a_phone(live: LiveServer, browser: Browser) -> None:
    audit = await run_every_state(live, browser, SMALL_PHONE)
    assert len(audit.states) == 13, audit.states
    audit.assert_clean()


async def test_no_serious_violations_on_a_desktop(live: LiveServer, browser: Browser) -> None:
    audit = await run_every_state(live, browser, DESKTOP)
    audit.assert_clean()


def test_the_vendored_axe_is_whole() -> None:
    text = AXE.read_text()
    assert text.startswith("/*! axe v4.14.1"), text[:40]
    assert (AXE.parent / "axe-core.LICENSE").read_text().startswith("Mozilla Public License")
