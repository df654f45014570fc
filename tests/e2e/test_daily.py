"""The daily experience in a real browser: what participants and staff meet outside the crisis
loop (the mood check-in, quick exit, long messages, toasts and focus, the cap, canned replies).
Phone checks run at 360 x 740, the smallest common phone."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, Person, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer

SMALL_PHONE: ViewportSize = {"width": 360, "height": 740}


def assert_clean(*people: Person) -> None:
    problems = [problem for person in people for problem in person.problems]
    assert not problems, "\n".join(problems)


async def box(page: Page, selector: str) -> dict[str, Any]:
    found = await page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not on screen"
    return dict(found)


async def nested_pills(page: Page, selector: str) -> list[str]:
    """Options drawn as a bordered shape inside another bordered shape ("a pill in a pill")."""
    return list(
        await page.evaluate(
            """(selector) => {
                const bordered = (el) => {
                  const s = getComputedStyle(el);
                  return parseFloat(s.borderTopWidth) > 0 && s.borderTopStyle !== 'none';
                };
                const found = [];
                for (const option of document.querySelectorAll(selector)) {
                  const shapes = [option, ...option.querySelectorAll('*')].filter(bordered);
                  if (shapes.length > 1) found.push(option.textContent.trim());
                }
                return found;
            }""",
            selector,
        )
    )


async def shown_in_log(page: Page, selector: str) -> None:
    """Wait until the element lies wholly inside the visible part of the message log (smooth
    scrolling takes a moment)."""
    await page.wait_for_function(
        """(selector) => {
            const el = document.querySelector(selector);
            const log = el && el.closest('.messages-scroll');
            if (!el || !log) return false;
            const a = el.getBoundingClientRect(), b = log.getBoundingClientRect();
            return a.height > 0 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1
              && b.bottom <= window.innerHeight + 1;
        }""",
        arg=selector,
        timeout=flows.TIMEOUT_MS,
    )


# --- 1. the mood check-in ---------------------------------------------------------------------


async def test_check_in_is_small_and_leaves_the_conversation_usable_on_a_phone(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    page = person.page
    await flows.start_anonymously(page)
    assert await nested_pills(page, "#topic-options .chip") == []
    await flows.request_support(page, "Low mood")
    card = page.locator('.checkin[data-phase="start"]')
    await expect(card.get_by_role("heading", name="How are you feeling right now?")).to_be_visible()
    assert await nested_pills(page, ".checkin .mood") == []

    # Small: a strip, not a wall; the message area keeps most of the screen while waiting.
    card_box = await box(page, ".checkin")
    assert card_box["height"] <= 130, card_box
    scroller = await box(page, "#chat-log .messages-scroll")
    assert scroller["height"] >= 300, scroller
    composer = await box(page, "#composer")
    assert composer["y"] + composer["height"] <= SMALL_PHONE["height"] + 1

    # A message sent while waiting is on screen, inside the visible part of the log.
    await flows.send(page, "Is anyone there? I just need to talk.")
    await flows.expect_once(page, "Is anyone there? I just need to talk.")
    await shown_in_log(page, ".messages .msg.mine")
    await page.screenshot(path="/tmp/ux-checkin.png")

    # Choosing a mood reveals the optional words; the thank-you fades by itself.
    await card.get_by_role("radio", name="Low", exact=True).check()
    await card.get_by_label("Anything you'd like to add?").fill("tired")
    await card.get_by_role("button", name="Send").click()
    await expect(page.locator(".checkin-thanks")).to_contain_text("Thank you.")
    await expect(page.locator(".checkin")).to_have_count(0, timeout=8000)
    await page.reload()
    await expect(page.locator("#screen-chat")).to_be_visible()
    await page.wait_for_timeout(500)
    await expect(page.locator(".checkin")).to_have_count(0)
    assert_clean(person)
    await person.close()


async def test_check_in_can_be_dismissed_and_is_never_shown_after_a_help_press(
    live: LiveServer, browser: Browser
) -> None:
    dismisser = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    await flows.start_anonymously(dismisser.page)
    await flows.request_support(dismisser.page, "Anxiety or worry")
    await (
        dismisser.page.locator(".checkin").get_by_role("button", name=re.compile("Not now")).click()
    )
    await expect(dismisser.page.locator(".checkin")).to_have_count(0)
    await expect(dismisser.page.locator("#composer-input")).to_be_focused()
    await dismisser.page.reload()
    await expect(dismisser.page.locator("#screen-chat")).to_be_visible()
    await dismisser.page.wait_for_timeout(500)
    await expect(dismisser.page.locator(".checkin")).to_have_count(0)

    # In a conversation: the check-in is there, then help is pressed: it goes, for good.
    helper = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    page = helper.page
    await flows.start_anonymously(page)
    await flows.request_support(page, "Low mood")
    await expect(page.locator(".checkin")).to_be_visible()
    await page.get_by_role("button", name="I need help now").click()
    await page.get_by_role("button", name="Yes, alert a supervisor").click()
    await expect(page.locator("#help-confirmation")).to_contain_text("Help is on the way")
    await page.locator("#resources-dialog").get_by_role("button", name="Close").click()
    await expect(page.locator(".checkin")).to_have_count(0)
    await page.reload()
    await expect(page.locator("#help-banner")).to_be_visible()
    await page.wait_for_timeout(500)
    await expect(page.locator(".checkin")).to_have_count(0)

    # Help pressed from the welcome screen: the conversation opens without any check-in.
    straight = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    seen: list[bool] = []
    await straight.page.expose_function("__sawCheckin", lambda: seen.append(True))
    await straight.page.evaluate(
        """() => new MutationObserver(() => {
              if (document.querySelector('.checkin')) window.__sawCheckin();
           }).observe(document.body, {childList: true, subtree: true})"""
    )
    await straight.page.get_by_role("button", name="I need help now").click()
    await straight.page.get_by_role("button", name="Yes, alert a supervisor").click()
    await expect(straight.page.locator("#help-confirmation")).to_contain_text("Help is on the way")
    await straight.page.wait_for_timeout(500)
    assert seen == [], "a check-in appeared after the help press"
    assert_clean(dismisser, helper, straight)
    for person in (dismisser, helper, straight):
        await person.close()


# --- 2. quick exit ----------------------------------------------------------------------------

NEUTRAL = "https://www.bbc.com/weather"


async def neutral_site(person: Person) -> None:
    """The browser reaches nothing outside: the neutral site is answered here."""

    async def fulfil(route: Any) -> None:
        await route.fulfill(
            status=200, content_type="text/html", body="<title>Weather</title>Sunny"
        )

    await person.context.route("https://www.bbc.com/**", fulfil)


async def test_quick_exit_is_one_tap_and_leaves_no_way_back(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "about:blank", SMALL_PHONE)
    await neutral_site(person)
    page = person.page
    await page.goto(f"{live.base_url}/")
    await flows.start_anonymously(page)
    await flows.request_support(page, "Low mood")
    await flows.send(page, "something private")
    await flows.expect_once(page, "something private")
    exit_button = page.get_by_role("link", name="Exit")
    # Always visible, inside the screen, on a small phone, while chatting.
    await expect(exit_button).to_be_visible()
    found = await exit_button.bounding_box()
    assert found is not None and found["x"] >= 0
    assert found["x"] + found["width"] <= SMALL_PHONE["width"] and found["y"] < 80
    for name in ("Helplines", "I need help now"):
        await expect(page.get_by_role("button", name=name)).to_be_in_viewport()
    # Clicking blanks the page at once, in the same tap, before the next site is asked for:
    # a listener that runs right after the exit's own reports what the screen holds then.
    seen: list[tuple[str, str]] = []
    await page.expose_function("__report", lambda text, title: seen.append((text, title)))
    await page.evaluate(
        """() => document.getElementById('quick-exit').addEventListener('click', () =>
              window.__report(document.body.textContent, document.title))"""
    )
    await exit_button.click(no_wait_after=True)
    await expect(page).to_have_url(NEUTRAL)
    await expect(page.locator("body")).to_have_text("Sunny")
    assert seen == [("", "")], seen
    # The back button does not return to the conversation.
    await page.go_back()
    assert not page.url.startswith(live.base_url), page.url
    assert_clean(person)
    await person.close()


async def test_quick_exit_by_pressing_escape_three_times_on_desktop(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "about:blank", DESKTOP)
    await neutral_site(person)
    page = person.page
    await page.goto(f"{live.base_url}/")
    await flows.start_anonymously(page)
    # One or two presses do nothing (Escape also closes dialogs).
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await page.wait_for_timeout(2100)
    await page.keyboard.press("Escape")
    assert page.url.startswith(live.base_url)
    await expect(page.locator("#my-handle")).not_to_be_empty()
    # Three in quick succession leave, even with a dialog open.
    await page.get_by_role("button", name="Helplines").click()
    await expect(page.locator("#resources-dialog")).to_be_visible()
    for _ in range(3):
        await page.keyboard.press("Escape")
    await expect(page).to_have_url(NEUTRAL)
    await page.go_back()
    assert not page.url.startswith(live.base_url), page.url
    assert_clean(person)
    await person.close()


async def test_client_config_names_the_quick_exit_site(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        config = (await http.get("/api/v1/client-config")).json()
    assert config == {"quick_exit_url": NEUTRAL, "max_body_chars": 4000}


# --- 3. long messages -------------------------------------------------------------------------


async def test_long_messages_count_down_and_are_never_cut(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    page = person.page
    await flows.start_anonymously(page)
    # The first note is held to the same limit, with the same words.
    note = page.locator("#support-note")
    await note.fill("n" * 4005)
    await expect(page.locator("#support-note-count")).to_contain_text(
        "5 characters over the 4,000 limit"
    )
    await page.get_by_role("button", name="Talk one-to-one").click()
    await expect(page.locator("#support-error")).to_contain_text("too long")
    assert len(await note.input_value()) == 4005  # kept, not cut
    await note.fill("")
    await flows.request_support(page, "Stress or pressure")
    await flows.wait_socket_ready(page)
    box_ = page.locator("#composer-input")
    count = page.locator("#composer .composer-count")
    send = page.locator("#composer").get_by_role("button", name="Send")

    await box_.fill("a" * 3000)
    await expect(count).to_be_hidden()  # far from the limit: nothing to say
    await box_.fill("a" * 3700)
    await expect(count).to_have_text("300 characters left")
    # Characters, as the server counts them: an emoji is one.
    await box_.fill("a" * 3990 + "🙂" * 10)
    await expect(count).to_have_text("0 characters left")
    await expect(send).to_be_enabled()

    await box_.fill("a" * 4050)
    await expect(count).to_have_text(
        "Too long to send: 50 characters over the 4,000 limit. Shorten it, or send it in two parts."
    )
    await expect(box_).to_have_attribute("aria-invalid", "true")
    await expect(send).to_be_disabled()
    await box_.press("Enter")
    await page.wait_for_timeout(300)
    assert len(await box_.input_value()) == 4050, "the text was cut or lost"
    await expect(page.locator(".messages .msg.mine")).to_have_count(0)

    # Back within the limit, the whole message goes, exactly as written.
    await box_.fill("b" * 4000)
    await expect(send).to_be_enabled()
    await box_.press("Enter")
    await flows.expect_once(page, "b" * 4000)
    await expect(count).to_be_hidden()
    assert_clean(person)
    await person.close()


# --- 4. toasts, focus after dialogs, the help confirmation ------------------------------------


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


async def test_toasts_never_cover_the_conversation(live: LiveServer, browser: Browser) -> None:
    for viewport in (SMALL_PHONE, DESKTOP):
        person = await open_person(browser, live.base_url, "/", viewport)
        page = person.page
        await flows.start_anonymously(page)
        await flows.request_support(page, "Loneliness")
        await flows.send(page, "first line of my message")
        await flows.expect_once(page, "first line of my message")
        await page.evaluate(
            """async () => {
                const { toast } = await import('/static/js/ui.js');
                toast('One'); toast('Two', 'error'); toast('Three'); toast('Four, the newest');
            }"""
        )
        toasts = page.locator(".toast")
        await expect(toasts).to_have_count(2)  # a stack limit: the oldest went first
        await expect(toasts.last).to_have_text("Four, the newest")
        log = await box(page, "#chat-log .messages-scroll")
        composer = await box(page, "#composer")
        bubble = await box(page, ".messages .msg.mine")
        for i in range(2):
            toast_box = await toasts.nth(i).bounding_box()
            assert toast_box is not None
            for name, other in (("log", log), ("composer", composer), ("message", bubble)):
                assert not overlaps(dict(toast_box), other), (viewport, name, toast_box, other)
        assert log["height"] >= 200, log
        # The composer stays usable under any number of toasts.
        await flows.send(page, "still typing fine")
        await flows.expect_once(page, "still typing fine")
        await expect(toasts).to_have_count(0, timeout=9000)  # and they go by themselves
        assert_clean(person)
        await person.close()


async def test_focus_returns_to_the_opener_and_help_confirmation_focuses_yes(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    page = person.page
    await flows.start_anonymously(page)
    helplines = page.get_by_role("button", name="Helplines")
    await helplines.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#resources-dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#resources-dialog")).to_be_hidden()
    await expect(helplines).to_be_focused()

    await flows.request_support(page, "Low mood")
    await page.wait_for_timeout(2100)  # three quick Escapes are the quick exit
    leave = page.get_by_role("button", name="Cancel request")
    await leave.focus()
    await page.keyboard.press("Enter")  # a busy button: it must keep its focus
    await expect(page.locator("#confirm-dialog")).to_be_visible()
    await expect(
        page.locator("#confirm-dialog").get_by_role("button", name="Keep waiting")
    ).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#confirm-dialog")).to_be_hidden()
    await expect(leave).to_be_focused()

    # Asking for help: the focused choice is the one that asks; Enter gets help.
    await page.wait_for_timeout(2100)
    help_button = page.get_by_role("button", name="I need help now")
    await help_button.focus()
    await page.keyboard.press("Enter")
    yes = page.locator("#confirm-dialog").get_by_role("button", name="Yes, alert a supervisor")
    await expect(yes).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#help-confirmation")).to_contain_text("Help is on the way")
    await page.keyboard.press("Escape")
    await expect(page.locator("#resources-dialog")).to_be_hidden()
    await expect(help_button).to_be_focused()
    assert_clean(person)
    await person.close()


async def test_staff_dialogs_give_focus_back(live: LiveServer, browser: Browser) -> None:
    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(worker.page, "alex", STAFF_PASSWORD)
    profile = worker.page.get_by_role("button", name="Your profile")
    await profile.focus()
    await worker.page.keyboard.press("Enter")
    await expect(worker.page.locator("#profile-dialog")).to_be_visible()
    await worker.page.keyboard.press("Escape")
    await expect(worker.page.locator("#profile-dialog")).to_be_hidden()
    await expect(profile).to_be_focused()
    assert_clean(worker)
    await worker.close()


# --- 6. the cap, and server words as sentences ------------------------------------------------


async def _waiting_rooms(http: httpx.AsyncClient, count: int) -> list[str]:
    rooms = []
    for _ in range(count):
        person = (await http.post("/api/v1/sessions/anonymous", json={})).json()
        auth = {"Authorization": f"Bearer {person['token']}"}
        made = await http.post("/api/v1/support-requests", json={"topic": "stress"}, headers=auth)
        assert made.status_code == 201, made.text
        rooms.append(made.json()["room_id"])
    return rooms


async def test_the_cap_shows_three_of_three_and_holds_claim_back(
    live: LiveServer, browser: Browser
) -> None:
    await live.add_staff("casey", "peer_worker", handle="Casey")
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        rooms = await _waiting_rooms(http, 4)
        worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
        page = worker.page
        await flows.sign_in(page, "casey", STAFF_PASSWORD)
        load = page.locator("#queue-load")
        await expect(load).to_contain_text("0 of 3 conversations")
        for i, room_id in enumerate(rooms[:3], start=1):
            await flows.claim(page, room_id)
            await expect(load).to_contain_text(f"{i} of 3 conversations")
        await expect(load).to_contain_text("That's your limit")
        fourth = page.locator(f'.queue-item[data-room-id="{rooms[3]}"]')
        claim = fourth.get_by_role("button", name=re.compile("^Claim"))
        await expect(claim).to_be_disabled()
        await expect(claim).to_have_attribute("aria-describedby", "queue-load")

        # Had the page not known (another tab claimed), the refusal reads as a sentence.
        said = await page.evaluate(
            """async () => {
                const { ApiError, friendlyMessage } = await import('/static/js/api.js');
                return [
                  friendlyMessage(new ApiError(409, 'conflict', 'x',
                    { reason: 'at_capacity', held: 3, max_rooms: 3 })),
                  friendlyMessage(new ApiError(409, 'conflict', 'x', { reason: 'already_claimed' })),
                  friendlyMessage(new ApiError(400, 'bad_request', 'to_user_id must be a user id')),
                ];
            }"""
        )
        assert said == [
            "You're supporting 3 of 3 conversations, the most at once. "
            "Close or hand over one to claim another.",
            "Someone else has just claimed this conversation.",
            "To user id must be a user id.",
        ]
        # The server's own refusal carries the reason and the figures.
        login = await http.post(
            "/api/v1/auth/login", json={"username": "casey", "password": STAFF_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        refused = await http.post(f"/api/v1/rooms/{rooms[3]}/claim", headers=auth)
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert (error["reason"], error["held"], error["max_rooms"]) == ("at_capacity", 3, 3)
        assert error["detail"].startswith("You already support 3 conversations")

        # Closing one frees a place at once.
        await page.locator(f'.room-tab[aria-controls="panel-{rooms[0]}"]').click()
        await page.locator(f"#panel-{rooms[0]}").get_by_role("button", name="Close").click()
        await page.get_by_role("button", name="Close conversation").click()
        await expect(load).to_contain_text("2 of 3 conversations")
        await expect(claim).to_be_enabled()
        await claim.click()
        await expect(load).to_contain_text("3 of 3 conversations")
        # No raw, lowercase server text ever reached a toast.
        for text in await page.locator(".toast").all_text_contents():
            assert text[:1].isupper(), text
        assert_clean(worker)
        await worker.close()


# --- 8. canned responses ----------------------------------------------------------------------


async def test_saved_replies_are_inserted_with_a_keystroke_and_edited_before_sending(
    live: LiveServer, browser: Browser
) -> None:
    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "jo", STAFF_PASSWORD)
    admin = supervisor.page.locator("#canned-admin")
    await expect(admin.get_by_role("heading", name="Greeting")).to_be_visible()
    await admin.get_by_role("button", name="Add a reply").click()
    dialog = supervisor.page.locator("#canned-dialog")
    await dialog.get_by_label("Title").fill("Grounding")
    await dialog.get_by_label("Reply").fill("Can you name five things you can see right now?")
    await dialog.get_by_role("button", name="Save").click()
    await expect(admin.get_by_role("heading", name="Grounding")).to_be_visible()
    await expect(admin.get_by_role("button", name="Add a reply")).to_be_focused()

    participant = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    await flows.start_anonymously(participant.page)
    await flows.request_support(participant.page, "Loss or grief")
    room_id = await flows.participant_room_id(participant.page)
    await live.add_staff("robin", "peer_worker", handle="Robin")  # holds nothing yet
    worker = await open_person(browser, live.base_url, "/worker", SMALL_PHONE)
    page = worker.page
    await flows.sign_in(page, "robin", STAFF_PASSWORD)
    await flows.claim(page, room_id)
    box_ = page.locator(f"#composer-{room_id}")
    await box_.focus()
    await page.keyboard.press("Control+k")
    search = page.get_by_role("combobox", name="Find a saved reply")
    await expect(search).to_be_focused()
    await expect(page.get_by_role("option")).to_have_count(5)
    await search.fill("still")
    await expect(page.get_by_role("option")).to_have_count(1)
    await page.keyboard.press("Enter")
    await expect(box_).to_have_value("I'm still here with you. Take all the time you need.")
    await expect(box_).to_be_focused()
    # Nothing was sent: the reply waits in the box, to be edited.
    await expect(participant.page.get_by_text("I'm still here with you.")).to_have_count(0)
    await box_.press("End")
    await box_.press_sequentially(" No rush.")
    await box_.press("Enter")
    sent = "I'm still here with you. Take all the time you need. No rush."
    await flows.expect_once(participant.page, sent)

    # "/" in an empty box opens it too; arrows choose; Escape closes and gives focus back.
    await box_.press("/")
    await expect(search).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Escape")
    await expect(search).to_be_hidden()
    await expect(box_).to_be_focused()
    await expect(box_).to_have_value("")
    await page.get_by_role("button", name="Replies").click()
    await search.fill("five things")
    await page.get_by_role("option", name=re.compile("Grounding")).click()
    await expect(box_).to_have_value("Can you name five things you can see right now?")

    # Removing one, as a supervisor, is asked first.
    await admin.get_by_role("button", name="Remove Grounding").click()
    await supervisor.page.locator("#confirm-dialog").get_by_role("button", name="Remove").click()
    await expect(admin.get_by_role("heading", name="Grounding")).to_have_count(0)
    assert_clean(supervisor, participant, worker)
    for person in (supervisor, participant, worker):
        await person.close()


# --- 9 (part). topics as human names ----------------------------------------------------------


async def test_topics_read_as_human_names_not_ids(live: LiveServer, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "sam", "password": STAFF_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        made = await http.post(
            "/api/v1/groups", json={"name": "Brighter days", "topic": "low-mood"}, headers=auth
        )
        assert made.status_code == 201, made.text
    participant = await open_person(browser, live.base_url, "/", SMALL_PHONE)
    await flows.start_anonymously(participant.page)
    group = participant.page.locator(".group", has_text="Brighter days")
    await expect(group).to_contain_text("Low mood")
    await expect(group).not_to_contain_text("low-mood")
    await flows.request_support(participant.page, "Anxiety or worry")
    room_id = await flows.participant_room_id(participant.page)

    await live.add_staff("kit", "peer_worker", handle="Kit")
    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(worker.page, "kit", STAFF_PASSWORD)
    item = worker.page.locator(f'.queue-item[data-room-id="{room_id}"]')
    await expect(item.locator(".qi-title")).to_contain_text("Anxiety or worry")
    await flows.claim(worker.page, room_id)
    await expect(worker.page.locator(f"#panel-{room_id} .room-title")).to_have_text(
        "Anxiety or worry"
    )
    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    await flows.sign_in(supervisor.page, "jo", STAFF_PASSWORD)
    table = supervisor.page.locator("#rooms-table")
    await expect(table).to_contain_text("Anxiety or worry", timeout=20_000)
    for raw in ("low-mood", ">anxiety<"):
        assert raw not in await table.inner_html()
    assert_clean(participant, worker, supervisor)
    for person in (participant, worker, supervisor):
        await person.close()
