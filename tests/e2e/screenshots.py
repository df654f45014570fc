"""Screenshots of the front end at phone (390x844) and desktop (1440x900) sizes, for review.

    .venv/bin/python -m tests.e2e.screenshots [--out docs/screenshots] [--dark] [--only crisis]

Starts its own server on a temporary database, plays a short conversation (a participant asks
for support, a peer worker claims and replies, the participant asks for help now, a supervisor
sees the alert), and saves PNGs of each page along the way.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

import httpx
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from tests.e2e import flows
from tests.e2e.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    chromium_missing_reason,
    live_server,
)

ROOT = Path(__file__).resolve().parents[2]


async def shoot(page: Page, out: Path, name: str, size: ViewportSize) -> None:
    await page.set_viewport_size(size)
    await page.wait_for_timeout(250)  # let layout and the breathing circle settle
    await page.screenshot(path=str(out / f"{name}.png"))
    print(f"  {name}.png")


async def feed_scores(
    live: LiveServer, room_id: str, points: list[tuple[float, str, tuple[str, ...]]]
) -> None:
    """Stand in for the model (disabled here): score the participant's messages in a room, so
    the pictures show risk words, colours and mood sparklines as staff will see them."""
    from sqlalchemy import select

    from app.safety import scores
    from app.storage.models import Message

    domain = live.app.state.domain
    async with domain.db.read() as session:
        rows = (
            await session.execute(
                select(Message)
                .where(Message.room_id == room_id, Message.sender_role == "participant")
                .order_by(Message.seq)
            )
        ).scalars()
        messages = list(rows)
    for message, (score, level, reasons) in zip(messages, points, strict=False):
        record = scores.ScoreRecord(
            message_id=message.id, room_id=room_id, seq=message.seq,
            sender_id=message.sender_id, from_participant=True,
            sentiment_label="negative" if score < -0.2 else "neutral",
            sentiment_score=score, emotions={}, risk_level=level, risk_reasons=reasons,
            shift_detected=score < -0.7, shift_delta=score - points[0][0],
        )  # fmt: skip
        await scores.record(domain, [record])
        await domain.events.room_risk(room_id, record.room_risk_event())
        await domain.events.queue_changed(room_id)


async def room_of(page: Page) -> str:
    return await flows.participant_room_id(page)


async def run(out: Path, dark: bool) -> None:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    scheme = "dark" if dark else "light"
    suffix = "-dark" if dark else ""
    async with live_server() as live, async_playwright() as pw:
        await live.add_staff("sam", "peer_worker", handle="Sam")
        await live.add_staff("alex", "peer_worker", handle="Alex")
        await live.add_staff("jo", "supervisor", handle="Jo")
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            login = await http.post(
                "/api/v1/auth/login", json={"username": "alex", "password": "password1234"}
            )
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            await http.post(
                "/api/v1/groups", json={"name": "Evening check-in", "topic": "loneliness"},
                headers=auth,
            )  # fmt: skip
            await http.post(
                "/api/v1/groups", json={"name": "Exam stress", "topic": "stress"}, headers=auth
            )
            # Sam's profile, so the queue shows which requests match him and why.
            login = await http.post(
                "/api/v1/auth/login", json={"username": "sam", "password": "password1234"}
            )
            await http.put(
                "/api/v1/me/profile",
                json={"topics": ["low-mood", "anxiety"], "languages": ["en"],
                      "experience_tags": ["low-mood"]},
                headers={"Authorization": f"Bearer {login.json()['token']}"},
            )  # fmt: skip
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        opts = {"color_scheme": scheme}
        phone, desk = flows.PHONE, flows.DESKTOP

        # Two other people already waiting, so the queue has something to sort.
        others = []
        for topic, note in (("Anxiety or worry", ""), ("Relationships", "It's about my partner")):
            person = await flows.open_person(browser, live.base_url, "/", phone, **opts)
            await flows.start_anonymously(person.page)
            await flows.request_support(person.page, topic, note)
            others.append(person)
        try:
            await feed_scores(
                live, await room_of(others[1].page), [(-0.55, "elevated", ("feeling trapped",))]
            )
        except Exception as exc:  # the pictures still come, without risk
            print(f"  (no simulated scores: {exc})")

        print("participant")
        p = await flows.open_person(browser, live.base_url, "/", phone, **opts)
        await shoot(p.page, out, f"participant-welcome-phone{suffix}", phone)
        await flows.start_anonymously(p.page)
        await shoot(p.page, out, f"participant-start-phone{suffix}", phone)
        await flows.request_support(p.page, "Low mood", "I've been feeling really low this week.")
        await flows.wait_socket_ready(p.page)
        await shoot(p.page, out, f"participant-waiting-phone{suffix}", phone)

        print("worker")
        w = await flows.open_person(browser, live.base_url, "/worker", desk, **opts)
        await flows.sign_in(w.page, "sam", "password1234")
        await expect(w.page.locator(".queue-item")).to_have_count(3)
        await shoot(w.page, out, f"worker-queue-desktop{suffix}", desk)
        await shoot(w.page, out, f"worker-queue-phone{suffix}", phone)
        await w.page.set_viewport_size(desk)
        await flows.claim_first_waiting(w.page, "Low mood")
        await flows.send(w.page, "Hi, I'm Sam. Thanks for reaching out. What's been going on?")
        await flows.expect_once(
            p.page, "Hi, I'm Sam. Thanks for reaching out. What's been going on?"
        )
        await flows.send(p.page, "I can't sleep and everything feels heavy.")
        await flows.expect_once(w.page, "I can't sleep and everything feels heavy.")
        await flows.send(w.page, "That sounds exhausting. I'm here, take your time.")
        await flows.expect_once(p.page, "That sounds exhausting. I'm here, take your time.")
        await flows.send(p.page, "Honestly I don't see the point of anything lately.")
        await flows.expect_once(w.page, "Honestly I don't see the point of anything lately.")
        try:
            await feed_scores(
                live,
                await room_of(p.page),
                [
                    (-0.35, "none", ()),
                    (-0.6, "none", ()),
                    (-0.85, "elevated", ("hopelessness",)),
                ],
            )
        except Exception as exc:
            print(f"  (no simulated scores: {exc})")
        await w.page.wait_for_timeout(500)
        await shoot(w.page, out, f"worker-room-desktop{suffix}", desk)
        await shoot(w.page, out, f"worker-room-phone{suffix}", phone)
        await w.page.set_viewport_size(desk)
        await w.page.locator(".staff-room:visible textarea").focus()
        await w.page.keyboard.press("Control+k")
        await expect(w.page.get_by_role("option").first).to_be_visible()
        await shoot(w.page, out, f"worker-replies-desktop{suffix}", desk)
        await w.page.keyboard.press("Escape")
        await shoot(p.page, out, f"participant-chat-phone{suffix}", phone)
        await shoot(p.page, out, f"participant-chat-desktop{suffix}", desk)
        await p.page.set_viewport_size(phone)

        print("hand-over")
        await w.page.get_by_role("button", name="Hand over").click()
        await expect(w.page.get_by_label("Hand over to")).to_be_visible()
        await shoot(w.page, out, f"worker-handover-desktop{suffix}", desk)
        await w.page.locator("#transfer-dialog").get_by_role("button", name="Cancel").click()

        print("group")
        g1 = await flows.open_person(browser, live.base_url, "/", phone, **opts)
        g2 = await flows.open_person(browser, live.base_url, "/", phone, **opts)
        others += [g1, g2]
        for person in (g1, g2):
            await flows.start_anonymously(person.page)
            await person.page.get_by_role("button", name="Join Evening check-in").click()
            await flows.wait_socket_ready(person.page)
        await flows.send(g1.page, "Evenings are the hardest for me. Anyone else?")
        await flows.expect_once(g2.page, "Evenings are the hardest for me. Anyone else?")
        await flows.send(g2.page, "Same here. Nobody cares anyway, so why bother.")
        await flows.expect_once(g1.page, "Same here. Nobody cares anyway, so why bother.")
        await flows.send(g1.page, "I care! I'm glad you're here tonight.")
        await flows.expect_once(g2.page, "I care! I'm glad you're here tonight.")
        bubble = g1.page.locator(".msg", has_text="Nobody cares anyway")
        await bubble.locator(".msg-menu summary").click()
        await shoot(g1.page, out, f"participant-group-menu-phone{suffix}", phone)
        await bubble.get_by_role("button", name="Report").click()
        await g1.page.locator("#notes-input").fill("This sounds like they might need support.")
        await g1.page.get_by_role("button", name="Send report").click()

        print("help now")
        await p.page.get_by_role("button", name="I need help now").click()
        await p.page.get_by_role("button", name="Yes, alert a supervisor").click()
        await expect(p.page.locator("#help-confirmation")).to_be_visible()
        await shoot(p.page, out, f"participant-help-phone{suffix}", phone)
        await p.page.get_by_role("button", name="Close").click()

        print("supervisor")
        s = await flows.open_person(browser, live.base_url, "/supervisor", desk, **opts)
        await flows.sign_in(s.page, "jo", "password1234")
        await expect(s.page.locator(".alert-card")).to_have_count(1)
        await expect(s.page.locator(".report-card")).to_have_count(1)
        await shoot(s.page, out, f"supervisor-alerts-desktop{suffix}", desk)
        await shoot(s.page, out, f"supervisor-alerts-phone{suffix}", phone)
        await s.page.set_viewport_size(desk)
        await s.page.locator(".alert-card").get_by_role("button", name="Open conversation").click()
        await expect(s.page.locator("#viewer .msg").first).to_be_visible()
        await shoot(s.page, out, f"supervisor-room-desktop{suffix}", desk)
        await s.page.get_by_role("button", name="Back to dashboard").click()
        await expect(s.page.locator("#stats")).to_contain_text("group")
        await shoot(s.page, out, f"supervisor-dashboard-desktop{suffix}", desk)
        await s.page.locator("#dashboard").scroll_into_view_if_needed()
        await shoot(s.page, out, f"supervisor-dashboard-phone{suffix}", phone)
        await s.page.evaluate("document.querySelector('#dashboard').scrollIntoView()")
        await shoot(s.page, out, f"supervisor-dashboard-phone-scrolled{suffix}", phone)

        print("group management")
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            login = await http.post(
                "/api/v1/auth/login", json={"username": "alex", "password": "password1234"}
            )
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            created = await http.post(
                "/api/v1/groups", json={"name": "New parents", "topic": "relationships"},
                headers=auth,
            )  # fmt: skip
            await http.post(f"/api/v1/groups/{created.json()['room_id']}/close", headers=auth)
        await s.page.set_viewport_size(desk)
        admin = s.page.locator("#groups-admin")
        await admin.get_by_role("button", name="Members of Evening check-in").click()
        await expect(admin.locator(".group-member").first).to_be_visible()
        await admin.locator("summary", has_text="Closed groups").click()
        await expect(admin.locator(".groups-closed-list")).to_contain_text("New parents")
        await admin.evaluate("el => el.scrollIntoView()")
        await shoot(s.page, out, f"supervisor-groups-desktop{suffix}", desk)

        print("leave")
        await p.page.get_by_role("button", name="End chat").click()
        await expect(p.page.locator("#confirm-dialog")).to_be_visible()
        await shoot(p.page, out, f"participant-leave-phone{suffix}", phone)
        await p.page.locator("#confirm-dialog").get_by_role("button", name="Stay").click()

        # The participant page in Spanish, from a Spanish browser: its words and its helplines.
        es = await flows.open_person(browser, live.base_url, "/", phone, locale="es-ES", **opts)
        await expect(es.page.locator("html")).to_have_attribute("lang", "es")
        await expect(es.page.locator("#screen-welcome")).to_be_visible()
        await shoot(es.page, out, f"participant-welcome-es-phone{suffix}", phone)
        await es.page.get_by_role("button", name="Teléfonos").click()
        await expect(es.page.locator("#resources-list")).to_contain_text("Esperanza")
        await shoot(es.page, out, f"participant-helplines-es-phone{suffix}", phone)
        others.append(es)

        problems = [x for person in (p, w, s, *others) for x in person.problems]
        await browser.close()
    if problems:
        print("problems seen in the pages:", *problems, sep="\n  ")
        raise SystemExit(1)


SMALL_PHONE: ViewportSize = {"width": 360, "height": 740}


async def run_crisis(out: Path, dark: bool) -> None:
    """The crisis loop: a help press after an acknowledged alert, support in the conversation
    on a 360 px phone, the place in the queue, the risk after review, lowering it, the safety
    note on close, private staff notes, and the end card with helplines."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    scheme = "dark" if dark else "light"
    suffix = "-dark" if dark else ""
    async with live_server() as live, async_playwright() as pw:
        await live.add_staff("sam", "peer_worker", handle="Sam")
        await live.add_staff("jo", "supervisor", handle="Jo")
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        opts = {"color_scheme": scheme}
        small, desk = SMALL_PHONE, flows.DESKTOP

        print("crisis loop: participant waiting")
        other = await flows.open_person(browser, live.base_url, "/", small, **opts)
        await flows.start_anonymously(other.page)
        await flows.request_support(other.page, "Anxiety or worry", "My heart races at night.")
        p = await flows.open_person(browser, live.base_url, "/", small, **opts)
        await flows.start_anonymously(p.page)
        await flows.request_support(p.page, "Low mood", "Nights are the worst for me lately.")
        await flows.wait_socket_ready(p.page)
        await expect(p.page.locator("#queue-place")).to_be_visible()
        await shoot(p.page, out, f"participant-queue-place-phone{suffix}", small)
        room_id = await room_of(p.page)
        token = await p.page.evaluate(
            "() => JSON.parse(sessionStorage.getItem('peerchat.participant')).token"
        )
        auth = {"Authorization": f"Bearer {token}"}

        s = await flows.open_person(browser, live.base_url, "/supervisor", desk, **opts)
        await flows.sign_in(s.page, "jo", "password1234")
        await flows.wait_socket_ready(s.page)
        await s.page.locator("#dash-title").click()  # the first click lets sound play

        w = await flows.open_person(browser, live.base_url, "/worker", desk, **opts)
        await flows.sign_in(w.page, "sam", "password1234")
        await expect(w.page.locator(f'.queue-item[data-room-id="{room_id}"]')).to_be_visible()
        await shoot(w.page, out, f"worker-queue-preview-desktop{suffix}", desk)
        await flows.claim(w.page, room_id)
        await flows.send(w.page, "Hi, I'm Sam. I'm here with you.")
        await flows.expect_once(p.page, "Hi, I'm Sam. I'm here with you.")
        await flows.send(p.page, "I don't know how much longer I can keep going.")
        await flows.expect_once(w.page, "I don't know how much longer I can keep going.")

        print("crisis loop: help now, support")
        await p.page.get_by_role("button", name="I need help now").click()
        await p.page.get_by_role("button", name="Yes, alert a supervisor").click()
        await p.page.locator("#resources-dialog").get_by_role("button", name="Close").click()
        await expect(p.page.locator(".support-card")).to_be_visible()
        await p.page.evaluate(
            "document.querySelector('.support-card').scrollIntoView({ block: 'start' })"
        )
        await shoot(p.page, out, f"participant-support-phone{suffix}", small)

        card = s.page.locator(".alert-card").first
        await card.get_by_role("button", name="Acknowledge").click()
        await expect(card).to_have_attribute("data-status", "acknowledged")
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            pressed = await http.post(f"/api/v1/rooms/{room_id}/help", headers=auth)
            assert pressed.status_code == 201, pressed.text
        await expect(card).to_have_attribute("data-help", "2")
        await expect(s.page.locator("#alert-banner")).to_be_visible()
        await shoot(s.page, out, f"supervisor-help-again-desktop{suffix}", desk)

        print("crisis loop: staff notes, review, safety note")
        panel = w.page.locator(f"#panel-{room_id}")
        await expect(w.page.locator(".toast.error").first).to_be_visible()
        notes = panel.locator(".staff-notes")
        await notes.locator("summary").click()
        await notes.get_by_label("Add a private note for the team").fill(
            "Lives with her sister; says she is home tonight."
        )
        await notes.get_by_role("button", name="Save note").click()
        await expect(notes.locator(".note:not(.pending)")).to_have_count(1)
        await shoot(w.page, out, f"worker-crisis-notes-desktop{suffix}", desk)
        await w.page.get_by_role("button", name="Close", exact=True).click()
        dialog = w.page.locator("#safety-dialog")
        await dialog.get_by_label("Helplines or crisis lines shared").check()
        await dialog.get_by_label("Family, a friend or someone nearby contacted").check()
        await dialog.get_by_label("What happened (required)").fill(
            "Shared the crisis line; her sister is with her now."
        )
        await shoot(w.page, out, f"worker-safety-note-desktop{suffix}", desk)
        await dialog.get_by_role("button", name="Cancel").click()

        await card.get_by_role("button", name="Resolve").click()
        await s.page.get_by_label("What happened?").fill("Spoke with her; sister is there.")
        await s.page.get_by_role("button", name="Resolve alert").click()
        await expect(panel.locator(".room-review")).to_be_visible()
        await panel.get_by_role("button", name="Lower risk").click()
        lower = w.page.locator("#lower-risk-dialog")
        await lower.get_by_label("New level").select_option("elevated")
        await lower.get_by_label(re.compile("Why is it lower now")).fill(
            "Safe with her sister; agreed to call the line if it gets worse."
        )
        await shoot(w.page, out, f"worker-lower-risk-desktop{suffix}", desk)
        await lower.get_by_role("button", name="Lower risk").click()
        await expect(panel.locator(".room-meta .risk")).to_have_text("Elevated")
        await shoot(w.page, out, f"worker-risk-reviewed-desktop{suffix}", desk)

        print("crisis loop: the end")
        await w.page.get_by_role("button", name="Close", exact=True).click()
        await w.page.get_by_role("button", name="Close conversation").click()
        await expect(p.page.locator("#ended")).to_be_visible()
        await shoot(p.page, out, f"participant-ended-phone{suffix}", small)
        await p.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        await p.page.wait_for_timeout(200)
        await p.page.screenshot(path=str(out / f"participant-ended-helplines-phone{suffix}.png"))
        print(f"  participant-ended-helplines-phone{suffix}.png")

        problems = [x for person in (p, w, s, other) for x in person.problems]
        await browser.close()
    if problems:
        print("problems seen in the pages:", *problems, sep="\n  ")
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="dark colour scheme")
    parser.add_argument(
        "--only", choices=["all", "main", "crisis"], default="all",
        help="the main tour, the crisis loop, or both",
    )  # fmt: skip
    args = parser.parse_args()
    reason = chromium_missing_reason()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        raise SystemExit(2)
    if args.only in ("all", "main"):
        asyncio.run(run(args.out, args.dark))
    if args.only in ("all", "crisis"):
        asyncio.run(run_crisis(args.out, args.dark))


if __name__ == "__main__":
    main()
