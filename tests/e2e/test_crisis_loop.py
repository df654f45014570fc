"""The crisis loop in a real browser against a real server: a help press after an acknowledged
alert is loud on the supervisor's page; a peer worker hears about new requests and a crisis in
their conversation; the participant gets words of support inside the conversation on a small
phone; the room's risk stays at its highest with who reviewed it; closing after a crisis asks
what was done; private staff notes never reach the participant. axe-core runs on each new state."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, Person, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer
from tests.e2e.test_accessibility import SMALL_PHONE, Audit, with_axe

API = "/api/v1"


async def participant_by_http(live: LiveServer, note: str) -> tuple[str, dict[str, str], str]:
    """A participant who asked for one-to-one support: (room id, auth header, handle)."""
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        made = (await http.post(f"{API}/sessions/anonymous", json={})).json()
        auth = {"Authorization": f"Bearer {made['token']}"}
        asked = await http.post(
            f"{API}/support-requests", json={"topic": "low-mood", "note": note}, headers=auth
        )
        assert asked.status_code == 201, asked.text
        return asked.json()["room_id"], auth, made["handle"]


async def press_help(live: LiveServer, room_id: str, auth: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        pressed = await http.post(f"{API}/rooms/{room_id}/help", headers=auth)
        assert pressed.status_code == 201, pressed.text


async def staff_token(live: LiveServer, username: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        login = await http.post(
            f"{API}/auth/login", json={"username": username, "password": STAFF_PASSWORD}
        )
        return {"Authorization": f"Bearer {login.json()['token']}"}


async def own_worker(live: LiveServer, username: str) -> str:
    """A peer worker of this module's own, so that its conversations never count against the
    shared accounts' limits in other tests."""
    if username not in live.staff:
        await live.add_staff(username, "peer_worker", handle=username.capitalize())
    return username


async def tidy(live: LiveServer, rooms: list[tuple[str, dict[str, str]]]) -> None:
    """Leave what a test made as it found it: the participants leave, their alerts resolved."""
    sup = await staff_token(live, "jo")
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        for room_id, auth in rooms:
            await http.post(f"{API}/rooms/{room_id}/leave", headers=auth)
        ids = {room_id for room_id, _ in rooms}
        for alert in (await http.get(f"{API}/alerts", headers=sup)).json()["alerts"]:
            if alert["room_id"] in ids and alert["status"] != "resolved":
                done = await http.post(
                    f"{API}/alerts/{alert['alert_id']}/resolve", json={}, headers=sup
                )
                assert done.status_code == 200, done.text


async def played(page: Page) -> int:
    """How many sound cues the page has played (the toggle's data-played)."""
    return int(await page.locator("#sound").get_attribute("data-played") or 0)


async def played_more_than(page: Page, before: int) -> None:
    await page.wait_for_function(
        "(n) => Number(document.querySelector('#sound').dataset.played || 0) > n", arg=before
    )


def assert_clean(*people: Person) -> None:
    problems = [problem for person in people for problem in person.problems]
    assert not problems, "\n".join(problems)


async def staff_page(
    live: LiveServer,
    browser: Browser,
    path: str,
    username: str,
    viewport: ViewportSize = DESKTOP,
) -> Person:
    person = await open_person(browser, live.base_url, path, viewport)
    await with_axe(person, live.base_url)
    await flows.sign_in(person.page, username, STAFF_PASSWORD)
    await flows.wait_socket_ready(person.page)
    return person


@pytest.mark.parametrize("viewport", [DESKTOP, SMALL_PHONE], ids=["desktop", "phone"])
async def test_a_help_press_after_an_acknowledged_alert_is_loud(
    live: LiveServer, browser: Browser, viewport: ViewportSize
) -> None:
    audit = Audit()
    supervisor = await staff_page(live, browser, "/supervisor", "jo", viewport)
    page = supervisor.page
    sound = page.locator("#sound")
    # On by default; the browser lets it play only after a first click on the page.
    await expect(sound).to_have_attribute("aria-pressed", "true")
    await expect(sound).to_have_attribute("data-sound", "waiting")
    await expect(sound).to_contain_text("click anywhere")
    await page.locator("#dash-title").click()
    await expect(sound).to_have_attribute("data-sound", "on")
    await expect(sound).to_have_text("Sound on")

    room_id, auth, handle = await participant_by_http(live, "I can't keep doing this.")
    await press_help(live, room_id, auth)
    card = page.locator(".alert-card", has_text=handle)
    await expect(card).to_have_attribute("data-status", "open")
    await expect(card.locator(".help-count")).to_have_text(
        "The participant pressed “I need help now”."
    )
    await expect(page.locator("#alert-banner")).to_have_attribute("data-kind", "help")
    await expect(page.locator("#alert-banner")).to_contain_text("Help requested")
    alert_id = await card.get_attribute("data-alert-id")
    card = page.locator(f'.alert-card[data-alert-id="{alert_id}"]')
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_have_attribute("data-status", "acknowledged")
    await expect(page.locator("#alert-banner")).to_be_hidden()
    sounds_before = await played(page)

    # The same participant presses again: the acknowledged alert comes back, loudly.
    await press_help(live, room_id, auth)
    await expect(card).to_have_attribute("data-status", "open")
    await expect(card).to_have_attribute("data-help", "2")
    await expect(card.locator(".help-count")).to_have_text(
        "The participant pressed “I need help now” 2 times."
    )
    banner = page.locator("#alert-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_attribute("data-kind", "help")
    await expect(banner).to_contain_text("Help requested again")
    await expect(page).to_have_title(re.compile(r"^\(\d+\) Supervisor · peerchat$"))
    assert await played(page) == sounds_before + 1
    await expect(sound).to_have_attribute("data-sound", "on")
    # The dashboard's counts moved with the alert, without waiting for a refresh.
    stat = page.locator(".stat", has_text="nobody has acknowledged")
    await expect(stat.locator(".value")).not_to_have_text("0")
    await audit.check(page, f"supervisor: help pressed again ({viewport['width']} px)")

    # Acting on it takes the banner away.
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(banner).to_be_hidden()
    audit.assert_clean()
    assert_clean(supervisor)
    await supervisor.close()
    await tidy(live, [(room_id, auth)])


@pytest.mark.parametrize("viewport", [DESKTOP, SMALL_PHONE], ids=["desktop", "phone"])
async def test_a_peer_worker_hears_new_requests_and_a_crisis_in_their_room(
    live: LiveServer, browser: Browser, viewport: ViewportSize
) -> None:
    kit = await own_worker(live, "rowan")
    worker = await staff_page(live, browser, "/worker", kit, viewport)
    page = worker.page
    sound = page.locator("#sound")
    await expect(sound).to_have_attribute("aria-pressed", "true")
    # Any first click lets sound play: here, off and on again with the toggle itself.
    await sound.click()
    await expect(sound).to_have_attribute("data-sound", "off")
    await sound.click()
    await expect(sound).to_have_attribute("data-sound", "on")
    # Asked once for notifications, right after signing in.
    asked = await page.evaluate("() => localStorage.getItem('peerchat.notifications.asked')")
    assert asked == "true"

    before = await played(page)
    room_id, auth, _ = await participant_by_http(live, "Work has been too much lately.")
    item = page.locator(f'.queue-item[data-room-id="{room_id}"]')
    await expect(item.locator(".qi-preview")).to_contain_text("Work has been too much lately.")
    await played_more_than(page, before)
    await expect(page).to_have_title(re.compile(r"^\(\d+\) Peer supporter · peerchat$"))

    queue_tab = page.get_by_role("tab", name=re.compile("^Queue"))
    if await queue_tab.is_visible():  # phones show one pane at a time
        await queue_tab.click()
    await flows.claim(page, room_id)
    before = await played(page)
    await press_help(live, room_id, auth)
    await expect(
        page.locator(".toast.error", has_text="Crisis in your conversation")
    ).to_contain_text("pressed “I need help now”")
    await played_more_than(page, before)
    await expect(page.locator(f'.queue-item[data-room-id="{room_id}"] .qi-help')).to_contain_text(
        "Pressed “I need help now”"
    )
    # The tab's title says it too, until the conversation is looked at again.
    await expect(page).to_have_title(re.compile(r"^\(!\) "))
    tab = page.locator(f'.room-tab[aria-controls="panel-{room_id}"]')
    await expect(tab.locator(".risk")).to_have_text("Crisis")
    await tab.click()
    await expect(page).not_to_have_title(re.compile(r"^\(!\) "))

    # Sound off is remembered and shown.
    await sound.click()
    await expect(sound).to_have_attribute("data-sound", "off")
    await expect(sound).to_have_text("Sound off")
    assert await page.evaluate("() => localStorage.getItem('peerchat.worker.sound')") == "false"
    await sound.click()
    assert_clean(worker)
    await worker.close()
    await tidy(live, [(room_id, auth)])


async def test_support_shows_inside_the_conversation_on_a_small_phone(
    live: LiveServer, browser: Browser
) -> None:
    audit = Audit()
    participant = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    await with_axe(participant, live.base_url)
    page = participant.page
    await flows.start_anonymously(page)
    await flows.request_support(page, "Low mood", "Everything feels heavy.")
    await flows.wait_socket_ready(page)
    # The place in the queue, in calm words.
    place = page.locator("#queue-place")
    await expect(place).to_be_visible()
    await expect(place).to_have_text(re.compile(r"(You're next|ahead of you)"))
    await audit.check(page, "participant: place in the queue")

    await flows.send(page, "I don't know how much longer I can do this.")
    await page.get_by_role("button", name="I need help now").click()
    await page.get_by_role("button", name="Yes, alert a supervisor").click()
    await page.locator("#resources-dialog").get_by_role("button", name="Close").click()

    card = page.locator("#chat-log .support-card")
    await expect(card).to_be_visible()
    await expect(card).to_contain_text("You don't have to face this alone.")
    call = card.locator('a[href^="tel:"]').first
    await expect(call).to_be_visible()
    # Inside the conversation, after the person's words, and nothing lies over them.
    order = await page.evaluate(
        """() => {
            const items = [...document.querySelectorAll('#chat-log .messages > li')];
            return items.map((li) => li.classList.contains('support-card') ? 'support' : 'msg');
        }"""
    )
    assert order.index("support") > order.index("msg"), order
    assert await page.locator("dialog[open]").count() == 0
    width: dict[str, Any] = await page.evaluate(
        """() => ({ page: document.documentElement.scrollWidth,
                    card: document.querySelector('.support-card').getBoundingClientRect().right })"""
    )
    assert width["page"] <= 360 and width["card"] <= 360, width
    box = await call.bounding_box()
    assert box is not None and box["height"] >= 44, box  # a tap target a shaking hand can hit
    await audit.check(page, "participant: support in the conversation (360 px)")
    audit.assert_clean()
    assert_clean(participant)
    room_id = await flows.participant_room_id(page)
    token = await page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('peerchat.participant')).token"
    )
    await participant.close()
    await tidy(live, [(room_id, {"Authorization": f"Bearer {token}"})])


async def test_risk_review_safety_note_and_private_notes(
    live: LiveServer, browser: Browser
) -> None:
    audit = Audit()
    participant = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    await with_axe(participant, live.base_url)
    ppage = participant.page
    await flows.start_anonymously(ppage)
    await flows.request_support(ppage, "Low mood", "Nights are the worst.")
    room_id = await flows.participant_room_id(ppage)
    token = await ppage.evaluate(
        "() => JSON.parse(sessionStorage.getItem('peerchat.participant')).token"
    )
    auth = {"Authorization": f"Bearer {token}"}

    worker = await staff_page(live, browser, "/worker", "sam")
    wpage = worker.page
    await flows.claim(wpage, room_id)
    await flows.send(wpage, "I'm here with you.")
    await flows.expect_once(ppage, "I'm here with you.")
    panel = wpage.locator(f"#panel-{room_id}")

    # A private note: shown to staff, clearly marked, never to the participant.
    secret = "Mentioned a sister nearby; check in about her."
    notes = panel.locator(".staff-notes")
    await notes.locator("summary").click()
    await expect(notes).to_contain_text("The participant never sees them")
    await notes.get_by_label("Add a private note for the team").fill(secret)
    await notes.get_by_role("button", name="Save note").click()
    await expect(notes.locator(".note:not(.pending)", has_text=secret)).to_be_visible()
    await audit.check(wpage, "worker: private staff notes")

    # A help press: the room goes to crisis; the supervisor resolves the alert.
    await press_help(live, room_id, auth)
    await expect(panel.locator(".room-meta .risk")).to_have_text("Crisis")
    sup = await staff_token(live, "jo")
    async with httpx.AsyncClient(base_url=live.base_url, headers=sup) as http:
        open_alerts = (await http.get(f"{API}/alerts", params={"status": "open"})).json()
        mine = [a for a in open_alerts["alerts"] if a["room_id"] == room_id]
        assert mine, open_alerts
        # Closing now would leave a crisis unresolved: the worker is asked what was done.
        await wpage.get_by_role("button", name="Close", exact=True).click()
        dialog = wpage.locator("#safety-dialog")
        await expect(dialog).to_be_visible()
        await audit.check(wpage, "worker: safety note on close")
        await dialog.get_by_role("button", name="Close conversation").click()
        await expect(dialog.locator(".form-error")).to_contain_text("Say what happened")
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_have_count(0)

        resolved = await http.post(
            f"{API}/alerts/{mine[0]['alert_id']}/resolve", json={"notes": "Called her back."}
        )
        assert resolved.status_code == 200, resolved.text

    # Resolving never lowers the risk; it says who reviewed it, and when.
    await wpage.reload()
    await expect(panel.locator(".room-meta .risk")).to_have_text("Crisis")
    await expect(panel.locator(".room-review")).to_have_text(re.compile(r"^Reviewed by Jo at "))

    # Lowering it is on purpose, with a note.
    await panel.get_by_role("button", name="Lower risk").click()
    lower = wpage.locator("#lower-risk-dialog")
    await expect(lower).to_be_visible()
    await audit.check(wpage, "worker: lower risk")
    await lower.get_by_role("button", name="Lower risk").click()
    await expect(lower.locator(".form-error")).to_contain_text("A note is required")
    await lower.get_by_label("New level").select_option("elevated")
    await lower.get_by_label(re.compile("Why is it lower now")).fill("Safe at her sister's.")
    await lower.get_by_role("button", name="Lower risk").click()
    await expect(panel.locator(".room-meta .risk")).to_have_text("Elevated")

    # A second help press, then close: the safety note goes with it.
    await press_help(live, room_id, auth)
    await expect(panel.locator(".room-meta .risk")).to_have_text("Crisis")
    await wpage.get_by_role("button", name="Close", exact=True).click()
    dialog = wpage.locator("#safety-dialog")
    await dialog.get_by_label("Helplines or crisis lines shared").check()
    await dialog.get_by_label("What happened (required)").fill("Gave her the 988 line.")
    await dialog.get_by_role("button", name="Close conversation").click()
    await expect(panel.locator(".readonly-note")).to_have_text("This conversation has ended.")

    # The participant: an ended conversation that stays readable, helplines in the end card,
    # and no trace of the note anywhere on the page or in what the server gives them.
    await expect(ppage.locator("#ended")).to_be_visible()
    await expect(ppage.locator("#ended-resources a[href^='tel:']").first).to_be_visible()
    await ppage.locator("#chat-log").scroll_into_view_if_needed()
    log_height = await ppage.evaluate(
        "() => document.querySelector('#chat-log .messages-scroll').getBoundingClientRect().height"
    )
    assert log_height > 150, log_height  # the transcript, not a sliver
    await audit.check(ppage, "participant: ended, with helplines")
    assert secret not in await ppage.content()
    async with httpx.AsyncClient(base_url=live.base_url, headers=auth) as http:
        history = await http.get(f"{API}/rooms/{room_id}/messages")
        assert secret not in history.text
        refused = await http.get(f"{API}/rooms/{room_id}/notes")
        assert refused.status_code in (403, 404), refused.text
    async with httpx.AsyncClient(base_url=live.base_url, headers=sup) as http:
        listed = await http.get(f"{API}/rooms/{room_id}/notes")
        assert secret in listed.text

    audit.assert_clean()
    assert_clean(participant, worker)
    for person in (participant, worker):
        await person.close()


async def test_a_reply_written_before_a_help_press_never_undoes_it(
    live: LiveServer, browser: Browser
) -> None:
    """The page re-reads a room after lowering its risk. When that reply is slow and the
    participant presses for help meanwhile, the press's live update (crisis, review cleared)
    must win over the reply the server wrote before it (elevated, reviewed): otherwise the
    worker sees a reviewed room and can close it without the safety note."""
    room_id, auth, _ = await participant_by_http(live, "It has been a long week.")
    worker = await staff_page(live, browser, "/worker", await own_worker(live, "drew"))
    wpage = worker.page
    await flows.claim(wpage, room_id)
    panel = wpage.locator(f"#panel-{room_id}")
    risk = panel.locator(".room-meta .risk")
    await press_help(live, room_id, auth)
    await expect(risk).to_have_text("Crisis")

    # Hold the room's summary once it has been read: the server's answer is kept, not yet given.
    summary = flows.HeldReplies(wpage, f"**{API}/rooms/{room_id}")
    async with summary:
        await panel.get_by_role("button", name="Lower risk").click()
        lower = wpage.locator("#lower-risk-dialog")
        await lower.get_by_label("New level").select_option("elevated")
        await lower.get_by_label(re.compile("Why is it lower now")).fill("Talked it through.")
        await lower.get_by_role("button", name="Lower risk").click()
        await expect(risk).to_have_text("Elevated")  # from the lowering's own live update
        await summary.first(5)  # the re-read, answered "elevated, reviewed"
        # No wait here: a queue snapshot read before the press but delivered after it carries
        # an older risk version, and the page keeps the newer one.

        await press_help(live, room_id, auth)
        await expect(risk).to_have_text("Crisis")

    await expect(risk).to_have_text("Crisis")
    await expect(panel.locator(".room-review")).to_be_hidden()
    await wpage.get_by_role("button", name="Close", exact=True).click()
    dialog = wpage.locator("#safety-dialog")
    await expect(dialog).to_be_visible()  # a crisis nobody resolved: the safety note is asked
    await dialog.get_by_role("button", name="Cancel").click()

    assert_clean(worker)
    await worker.close()
    await tidy(live, [(room_id, auth)])


async def test_an_older_queue_read_never_hides_a_new_request(
    live: LiveServer, browser: Browser
) -> None:
    """A peer worker's reads of the queue can answer after the queue's live update for a new
    request; held here until then, those older answers must not take the request away."""
    username = await own_worker(live, "jamie")
    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    page = worker.page
    queue = flows.HeldReplies(page, f"**{API}/queue")
    async with queue:
        await flows.sign_in(page, username, STAFF_PASSWORD)
        await queue.first()
        await flows.wait_socket_ready(page)

        room_id, auth, _ = await participant_by_http(live, "Could someone talk with me tonight?")
        item = page.locator(f'.queue-item[data-room-id="{room_id}"]')
        await expect(item).to_be_visible()  # from the live queue update
        for _, older in queue.held:
            assert room_id not in await older.text()
    # Nothing on the page changes when the older answers are rightly dropped: give the page a
    # moment to read them, then the request must still be there.
    await page.wait_for_timeout(500)
    await expect(item).to_be_visible(timeout=1)

    assert_clean(worker)
    await worker.close()
    await tidy(live, [(room_id, auth)])


async def test_an_older_queue_snapshot_never_undoes_a_lowered_risk(
    live: LiveServer, browser: Browser
) -> None:
    """A room's own live updates and the queue's snapshots come by separate channels, in no set
    order. A queue snapshot read while the room was in crisis, landing after the worker lowered
    its risk, must not put the crisis back: each risk carries a version, and the page keeps the
    newest."""
    room_id, auth, _ = await participant_by_http(live, "Some days are heavier than others.")
    username = await own_worker(live, "sage")
    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    wpage = worker.page
    snapshots = flows.HeldFrames("queue_update")
    await snapshots.install(wpage)
    await flows.sign_in(wpage, username, STAFF_PASSWORD)
    await flows.wait_socket_ready(wpage)
    assert snapshots.connections, "the page's socket did not go through the route"
    await flows.claim(wpage, room_id)
    panel = wpage.locator(f"#panel-{room_id}")
    risk = panel.locator(".room-meta .risk")
    listed = wpage.locator(f'.queue-item[data-room-id="{room_id}"] .risk')
    await press_help(live, room_id, auth)
    await expect(risk).to_have_text("Crisis")

    def in_crisis(frame: dict[str, Any]) -> bool:
        return any(
            r["room_id"] == room_id and r["risk"]["level"] == "crisis" for r in frame["rooms"]
        )

    snapshots.holding = True
    other_room, other_auth, _ = await participant_by_http(live, "Is anyone around tonight?")
    await snapshots.held_one(in_crisis)  # the queue moved: a snapshot with this room in crisis
    await panel.get_by_role("button", name="Lower risk").click()
    lower = wpage.locator("#lower-risk-dialog")
    await lower.get_by_label("New level").select_option("elevated")
    await lower.get_by_label(re.compile("Why is it lower now")).fill("We made a safety plan.")
    await lower.get_by_role("button", name="Lower risk").click()
    await expect(risk).to_have_text("Elevated")  # the reply and the room's own live update

    assert in_crisis(snapshots.release_oldest())  # the older snapshot lands now
    await wpage.wait_for_timeout(500)
    await expect(risk).to_have_text("Elevated", timeout=1)
    await expect(listed).to_have_text("Elevated", timeout=1)
    snapshots.release_all()
    await expect(risk).to_have_text("Elevated")
    await expect(listed).to_have_text("Elevated")

    assert_clean(worker)
    await worker.close()
    await tidy(live, [(room_id, auth), (other_room, other_auth)])
