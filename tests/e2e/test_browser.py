"""The front end in a real browser against a real server: participants, peer workers and
supervisors, on phone and desktop sizes."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, PHONE, Person, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer


def assert_clean(*people: Person) -> None:
    """No script errors and no Content-Security-Policy refusals on any page."""
    problems = [problem for person in people for problem in person.problems]
    assert not problems, "\n".join(problems)


async def test_support_claim_chat_and_help_now_reaches_the_supervisor(
    live: LiveServer, browser: Browser
) -> None:
    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "jo", STAFF_PASSWORD)
    await flows.wait_socket_ready(supervisor.page)

    participant = await open_person(browser, live.base_url, "/", PHONE)
    handle = await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Low mood", "I've been feeling low all week.")
    # A calm waiting screen that says what happens next.
    await expect(
        participant.page.get_by_text("We're finding a peer supporter for you")
    ).to_be_visible()
    await expect(participant.page.locator("#chat-status")).to_have_text(
        "Waiting for a peer supporter"
    )
    room_id = await flows.participant_room_id(participant.page)

    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(worker.page, "sam", STAFF_PASSWORD)
    item = worker.page.locator(f'.queue-item[data-room-id="{room_id}"]')
    await expect(item).to_contain_text("Low mood")
    await expect(item.locator(".risk")).to_have_text("No flags")  # risk in words, not colour alone
    await flows.claim(worker.page, room_id)
    # In the conversation itself (the room list may also quote it as the room's latest words).
    conversation = worker.page.get_by_role("log", name="Conversation messages")
    await expect(conversation.get_by_text("I've been feeling low all week.")).to_be_visible()

    # The participant sees the supporter arrive, then the conversation goes both ways.
    await expect(participant.page.get_by_text("Sam, a peer supporter, has joined.")).to_be_visible()
    await expect(participant.page.locator("#waiting-panel")).to_be_hidden()
    # Typing is shown to the other side.
    await worker.page.locator(f"#composer-{room_id}").press_sequentially("Hi", delay=20)
    await expect(participant.page.locator(".typing")).to_have_text("Sam is typing…")
    await flows.send(worker.page, "Hi, I'm Sam. What's been going on?")
    await flows.expect_once(participant.page, "Hi, I'm Sam. What's been going on?")
    markup = "<img src=x onerror=alert(1)> is just text"
    await flows.send(participant.page, markup)
    await flows.expect_once(worker.page, markup)
    await flows.expect_once(participant.page, markup)
    assert await worker.page.locator(".messages img").count() == 0

    # "I need help now": confirmation for the participant, a live alert for the supervisor.
    await participant.page.get_by_role("button", name="I need help now").click()
    await participant.page.get_by_role("button", name="Yes, alert a supervisor").click()
    await expect(participant.page.locator("#help-confirmation")).to_contain_text(
        "Help is on the way"
    )
    await expect(participant.page.locator("#resources-list")).to_contain_text("Samaritans")
    await participant.page.get_by_role("button", name="Close").click()
    await expect(participant.page.locator("#help-banner")).to_contain_text(
        "A supervisor has been alerted"
    )

    card = supervisor.page.locator(".alert-card", has_text=handle)
    await expect(card).to_contain_text("pressed the help-now button")
    await expect(card.locator(".severity")).to_have_text("Crisis")
    await expect(supervisor.page.locator("#alert-banner")).to_be_visible()
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_contain_text("Acknowledged")

    # The supervisor opens the room silently and sees the whole conversation.
    await card.get_by_role("button", name="Open conversation").click()
    await expect(supervisor.page.locator("#viewer-mode")).to_have_text("Watching silently")
    await flows.expect_once(supervisor.page, "Hi, I'm Sam. What's been going on?", settled=False)
    await expect(supervisor.page.locator("#viewer .composer")).to_be_hidden()

    await card.get_by_role("button", name="Resolve").click()
    await supervisor.page.get_by_label("What happened?").fill("Talked it through with Sam.")
    await supervisor.page.get_by_role("button", name="Resolve alert").click()
    await expect(supervisor.page.locator(".alert-card", has_text=handle)).to_have_count(0)

    # The worker closes the conversation with notes; the participant sees it end.
    await worker.page.get_by_role("button", name="Close", exact=True).click()
    await worker.page.get_by_label(re.compile("Notes for the team")).fill("Calmer by the end.")
    await worker.page.get_by_role("button", name="Close conversation").click()
    await expect(participant.page.get_by_text("This conversation has ended").first).to_be_visible()
    await expect(participant.page.locator("#composer")).to_be_hidden()

    assert_clean(supervisor, participant, worker)
    for person in (supervisor, participant, worker):
        await person.close()


async def test_reconnect_mid_conversation_loses_and_repeats_nothing(
    live: LiveServer, browser: Browser
) -> None:
    participant = await open_person(browser, live.base_url, "/", PHONE)
    await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Stress or pressure")
    room_id = await flows.participant_room_id(participant.page)
    worker = await open_person(browser, live.base_url, "/worker", PHONE)
    await flows.sign_in(worker.page, "alex", STAFF_PASSWORD)
    await flows.claim(worker.page, room_id)
    await flows.wait_socket_ready(participant.page)
    await flows.send(participant.page, "before 1")
    await flows.expect_once(worker.page, "before 1")

    # 1. The socket drops under the page: it is closed from inside, and the participant writes
    #    at once, before the reconnect (its back-off is at least a quarter second).
    await participant.page.evaluate("() => window.__peerchat.socket.ws.close()")
    await flows.send(participant.page, "during drop")
    await flows.expect_once(worker.page, "during drop")
    await flows.expect_once(participant.page, "during drop")

    # 2. The network goes away for a while: both sides write meanwhile.
    await participant.context.set_offline(True)
    await expect(participant.page.locator("#connection")).to_contain_text("offline")
    await flows.send(participant.page, "offline 1")
    await flows.send(participant.page, "offline 2")
    await expect(participant.page.locator(".msg.pending")).to_have_count(2)
    await flows.send(worker.page, "while you were away")
    await flows.expect_once(worker.page, "while you were away")
    await participant.context.set_offline(False)
    await flows.wait_socket_ready(participant.page)
    for text in ("offline 1", "offline 2"):
        await flows.expect_once(worker.page, text)
        await flows.expect_once(participant.page, text)
    await flows.expect_once(participant.page, "while you were away")

    # 3. A reload resumes the same conversation, each message once, in the order stored: the
    #    worker's reply was stored while the participant's two were still waiting to be sent.
    await participant.page.reload()
    await flows.wait_socket_ready(participant.page)
    texts = ["before 1", "during drop", "while you were away", "offline 1", "offline 2"]
    for text in texts:
        await flows.expect_once(participant.page, text)
    bodies = await participant.page.locator(".messages .msg:not(.system) .body").all_text_contents()
    assert [b for b in bodies if b in texts] == texts
    seqs = await participant.page.locator(".messages .msg[data-seq]").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    worker_bodies = await worker.page.locator(
        f"#panel-{room_id} .messages .msg .body"
    ).all_text_contents()
    assert [b for b in worker_bodies if b in texts] == texts

    assert_clean(participant, worker)
    await participant.close()
    await worker.close()


async def test_participant_cancels_a_request_and_ends_a_conversation(
    live: LiveServer, browser: Browser
) -> None:
    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(worker.page, "alex", STAFF_PASSWORD)
    participant = await open_person(browser, live.base_url, "/", PHONE)
    handle = await flows.start_anonymously(participant.page)
    page = participant.page

    # 1. Waiting: "Cancel request" asks gently first; "Keep waiting" changes nothing.
    await flows.request_support(page, "Loss or grief")
    first_room = await flows.participant_room_id(page)
    await expect(worker.page.locator(f'.queue-item[data-room-id="{first_room}"]')).to_be_visible()
    await page.get_by_role("button", name="Cancel request").click()
    dialog = page.locator("#confirm-dialog")
    await expect(dialog.get_by_role("heading")).to_have_text("Cancel your request?")
    await expect(dialog.get_by_role("button", name="Keep waiting")).to_be_focused()
    await dialog.get_by_role("button", name="Keep waiting").click()
    await expect(page.locator("#screen-chat")).to_be_visible()
    await page.get_by_role("button", name="Cancel request").click()
    await dialog.get_by_role("button", name="Cancel request").click()
    await expect(page.get_by_role("button", name="Talk one-to-one")).to_be_visible()
    await expect(page.locator("#toasts")).to_contain_text("Your request was cancelled")
    await expect(worker.page.locator(f'.queue-item[data-room-id="{first_room}"]')).to_have_count(0)

    # 2. Active: "End chat" closes it; the supporter is told in plain words.
    await flows.request_support(page, "Loss or grief", "Can we talk about my gran?")
    room_id = await flows.participant_room_id(page)
    assert room_id != first_room
    await flows.claim(worker.page, room_id)
    await expect(page.get_by_text("Alex, a peer supporter, has joined.")).to_be_visible()
    await page.get_by_role("button", name="End chat").click()
    await expect(dialog).to_contain_text("Alex will see that you've left")
    await dialog.get_by_role("button", name="End conversation").click()
    await expect(page.get_by_role("button", name="Talk one-to-one")).to_be_visible()
    panel = worker.page.locator(f"#panel-{room_id}")
    await expect(panel.get_by_text(f"{handle} has left the conversation.")).to_be_visible()
    await expect(panel.locator(".readonly-note")).to_have_text("This conversation has ended.")
    await expect(worker.page.locator(f"#tab-{room_id}")).to_contain_text("ended")
    stored = await page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('peerchat.participant')).room_id"
    )
    assert stored is None
    assert_clean(participant, worker)
    await participant.close()
    await worker.close()


async def test_profile_matching_and_hand_over_to_a_named_colleague(
    live: LiveServer, browser: Browser
) -> None:
    sam = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(sam.page, "sam", STAFF_PASSWORD)
    # Sam says what he can offer; matching requests are marked and explained.
    await sam.page.get_by_role("button", name="Your profile").click()
    dialog = sam.page.locator("#profile-dialog")
    await (
        dialog.get_by_role("group", name="Topics you're comfortable supporting")
        .get_by_role("checkbox", name="Relationships")
        .check()
    )
    await dialog.get_by_label("Languages you can chat in").fill("en, fr")
    await (
        dialog.get_by_role("group", name="Your lived experience")
        .get_by_role("checkbox", name="Relationships")
        .check()
    )
    await dialog.get_by_role("button", name="Save profile").click()
    await expect(dialog).to_be_hidden()
    await expect(sam.page.locator("#profile-summary")).to_contain_text("relationships")
    await sam.page.reload()
    await expect(sam.page.locator("#profile-summary")).to_contain_text("EN, FR")

    participant = await open_person(browser, live.base_url, "/", PHONE, locale="en-GB")
    await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Relationships")
    room_id = await flows.participant_room_id(participant.page)
    item = sam.page.locator(f'.queue-item[data-room-id="{room_id}"]')
    await expect(item.locator(".match-badge")).to_have_text("Good match")
    await expect(item.locator(".qi-match")).to_contain_text("lived experience: relationships")
    await flows.claim(sam.page, room_id)

    # Hand-over: a list of named colleagues with their load, never yourself.
    alex = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(alex.page, "alex", STAFF_PASSWORD)
    await sam.page.get_by_role("button", name="Hand over").click()
    select = sam.page.get_by_label("Hand over to")
    await expect(select.locator("option", has_text="Alex (")).to_have_count(1)
    options = await select.locator("option").all_text_contents()
    assert any(o.startswith("Alex (") for o in options), options
    assert not any(o.startswith("Sam") for o in options), options
    await select.select_option(label=next(o for o in options if o.startswith("Alex (")))
    await sam.page.locator("#transfer-dialog").get_by_role("button", name="Hand over").click()
    await expect(sam.page.locator(f"#tab-{room_id}")).to_have_count(0)
    await expect(alex.page.locator(f"#tab-{room_id}")).to_be_visible()
    assert_clean(sam, alex, participant)
    for person in (sam, alex, participant):
        await person.close()


async def test_group_members_report_and_block(live: LiveServer, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "alex", "password": STAFF_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        created = await http.post(
            "/api/v1/groups", json={"name": "Night owls", "topic": "sleep"}, headers=auth
        )
        group_id = created.json()["room_id"]

    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "jo", STAFF_PASSWORD)
    people = []
    for _ in range(2):
        person = await open_person(browser, live.base_url, "/", PHONE)
        await flows.start_anonymously(person.page)
        await person.page.get_by_role("button", name="Join Night owls").click()
        await expect(person.page.locator("#chat-title")).to_have_text("Night owls")
        await flows.wait_socket_ready(person.page)
        people.append(person)
    me, other = people
    other_handle = (await other.page.locator("#my-handle").text_content() or "").strip()
    await flows.send(other.page, "you are all pathetic")
    await flows.expect_once(me.page, "you are all pathetic")

    # Report: the message's menu, a reason, and the supervisor sees it with the excerpt.
    bubble = me.page.locator(".msg", has_text="you are all pathetic")
    await bubble.get_by_label(f"Options for {other_handle}'s message").click()
    await bubble.get_by_role("button", name="Report").click()
    await me.page.get_by_label(re.compile("What's wrong with it")).fill("insulting people")
    await me.page.get_by_role("button", name="Send report").click()
    await expect(me.page.locator("#toasts")).to_contain_text("moderators will look at it")
    report = supervisor.page.locator(".report-card", has_text="you are all pathetic")
    await supervisor.page.reload()  # reports also arrive by the 15 s refresh; don't wait for it
    await expect(report).to_contain_text("insulting people")
    await report.get_by_role("button", name="Open conversation").click()
    await expect(supervisor.page.locator("#viewer .msg.highlight .body")).to_have_text(
        "you are all pathetic"
    )

    # Block: the person's messages go from my screen, now and later; others still see them.
    await bubble.get_by_label(f"Options for {other_handle}'s message").click()
    await bubble.get_by_role("button", name="Block this person").click()
    await me.page.locator("#confirm-dialog").get_by_role("button", name="Block").click()
    await expect(flows.message_bubbles(me.page, "you are all pathetic")).to_have_count(0)
    await flows.send(other.page, "still here")
    await flows.send(me.page, "after the block")
    await flows.expect_once(other.page, "after the block")
    await expect(flows.message_bubbles(me.page, "still here")).to_have_count(0)
    assert group_id
    assert_clean(supervisor, me, other)
    for person in (supervisor, me, other):
        await person.close()


async def test_delete_my_data_is_graceful(live: LiveServer, browser: Browser) -> None:
    person = await open_person(browser, live.base_url, "/", PHONE)
    await flows.start_anonymously(person.page)
    await person.page.get_by_role("button", name="Delete my data").click()
    await (
        person.page.locator("#confirm-dialog").get_by_role("button", name="Delete my data").click()
    )
    # Until DELETE /api/v1/me exists the page says so and offers to forget this device.
    forget = person.page.get_by_role("button", name="Forget me on this device")
    welcome = person.page.get_by_role("button", name="Start anonymously")
    await expect(forget.or_(welcome)).to_be_visible()
    if await forget.is_visible():
        await forget.click()
    await expect(welcome).to_be_visible()
    stored = await person.page.evaluate("() => sessionStorage.getItem('peerchat.participant')")
    assert stored is None
    assert_clean(person)
    await person.close()


@pytest.mark.parametrize("path", ["/", "/worker", "/supervisor"])
async def test_pages_fit_a_360px_phone_and_work_by_keyboard(
    live: LiveServer, browser: Browser, path: str
) -> None:
    person = await open_person(browser, live.base_url, path, {"width": 360, "height": 740})
    page = person.page
    if path == "/":
        await page.keyboard.press("Tab")  # the skip link comes first
        await expect(page.locator(".skip-link")).to_be_focused()
        await page.get_by_role("button", name="Start anonymously").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#my-handle")).not_to_be_empty()
    else:
        await page.get_by_label("Username").focus()
        await page.keyboard.type("sam" if path == "/worker" else "jo")
        await page.keyboard.press("Tab")
        await page.keyboard.type(STAFF_PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("#app")).to_be_visible()
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{path} scrolls sideways at 360px ({width}px wide)"
    assert_clean(person)
    await person.close()


async def test_every_response_carries_the_security_headers(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        for path in ("/", "/worker", "/supervisor", "/static/js/api.js", "/api/v1/me", "/healthz"):
            response = await http.get(path)
            csp = response.headers.get("content-security-policy", "")
            assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
            assert "'unsafe-inline'" not in csp
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["cross-origin-opener-policy"] == "same-origin"
            assert "permissions-policy" in response.headers
        manifest = await http.get("/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        icons = {icon["sizes"] for icon in manifest.json()["icons"]}
        assert {"192x192", "512x512"} <= icons
        for icon in manifest.json()["icons"]:
            assert (await http.get(icon["src"])).status_code == 200
        resources = (await http.get("/static/resources.json")).json()
        assert resources["en"]["helplines"], "the helplines file must list English helplines"
