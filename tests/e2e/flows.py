"""Steps a person takes in the browser, shared by the e2e tests and the screenshot script.

Selectors are the ones people see (roles, labels, visible text) where that is stable, and ids
where the page has a landmark with one."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import (
    APIResponse,
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    WebSocketRoute,
    expect,
)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
TIMEOUT_MS = 10_000


@dataclass
class Person:
    """One browser context (its own storage, like a separate device) and its page."""

    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.context.close()


async def open_person(
    browser: Browser, base_url: str, path: str = "/", viewport: ViewportSize | None = None,
    **context_args: Any,
) -> Person:  # fmt: skip
    context = await browser.new_context(
        viewport=viewport or PHONE, base_url=base_url, **context_args
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    person = Person(context, page)

    def on_console(message: ConsoleMessage) -> None:
        # CSP refusals and script errors are failures: the pages must have none.
        if message.type == "error" and "favicon" not in message.text:
            person.problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: person.problems.append(f"pageerror: {error}"))
    await page.goto(path)
    return person


# --- participants ------------------------------------------------------------------------------


async def start_anonymously(page: Page) -> str:
    await page.get_by_role("button", name="Start anonymously").click()
    handle = page.locator("#my-handle")
    await expect(handle).not_to_be_empty()
    return (await handle.text_content() or "").strip()


async def request_support(page: Page, topic_label: str, note: str = "") -> None:
    await page.get_by_role("radio", name=topic_label).check()
    if note:
        await page.get_by_label(re.compile("Anything you'd like your supporter to know")).fill(note)
    await page.get_by_role("button", name="Talk one-to-one").click()
    await expect(page.locator("#screen-chat")).to_be_visible()


async def send(page: Page, text: str, composer: str = "textarea") -> None:
    box = page.locator(composer).locator("visible=true").last
    await box.fill(text)
    await box.press("Enter")


def message_bubbles(page: Page, text: str) -> Any:
    """Bubbles whose body is exactly `text`, visible ones only (pending included)."""
    return page.locator(".messages .msg:visible .body", has_text=re.compile(f"^{re.escape(text)}$"))


async def expect_once(page: Page, text: str, *, settled: bool = True) -> None:
    """The message is shown exactly once (and, for our own, no longer 'sending')."""
    bubbles = message_bubbles(page, text)
    await expect(bubbles).to_have_count(1)
    if settled:
        await expect(
            page.locator(
                ".messages .msg.pending .body", has_text=re.compile(f"^{re.escape(text)}$")
            )
        ).to_have_count(0)


# --- staff -------------------------------------------------------------------------------------


async def sign_in(page: Page, username: str, password: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#app")).to_be_visible()


async def claim_first_waiting(page: Page, topic_words: str) -> None:
    item = page.locator(".queue-item", has_text=topic_words).first
    await item.get_by_role("button", name=re.compile("^Claim")).click()
    await expect(page.locator(".room-tab[aria-selected=true]")).to_be_visible()


async def claim(page: Page, room_id: str) -> None:
    item = page.locator(f'.queue-item[data-room-id="{room_id}"]')
    await item.get_by_role("button", name=re.compile("^Claim")).click()
    await expect(page.locator(f'.room-tab[aria-controls="panel-{room_id}"]')).to_have_attribute(
        "aria-selected", "true"
    )


async def participant_room_id(page: Page) -> str:
    room_id = await page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('peerchat.participant') || '{}').room_id || ''"
    )
    assert room_id, "the participant page has no room"
    return str(room_id)


async def wait_socket_ready(page: Page) -> None:
    await page.wait_for_function(
        "() => window.__peerchat && window.__peerchat.socket.status === 'ready'",
        timeout=TIMEOUT_MS,
    )


class HeldReplies:
    """A page's requests to ``url``, answered by the server at once but handed to the page only
    on ``release``: an old reply arriving after newer live news, on demand. ``first_only``
    lets later requests through at once."""

    def __init__(self, page: Page, url: str, *, first_only: bool = False) -> None:
        self.page, self.url, self.first_only = page, url, first_only
        self.held: list[tuple[Route, APIResponse]] = []
        self._first = asyncio.Event()
        self._releasing = False

    async def __aenter__(self) -> HeldReplies:
        await self.page.route(self.url, self._hold)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.release()

    async def _hold(self, route: Route) -> None:
        if self._releasing or (self.first_only and self.held):
            await route.continue_()
            return
        self.held.append((route, await route.fetch()))  # the server's answer, now
        self._first.set()

    async def first(self, timeout: float = 10) -> APIResponse:
        """The first held reply, once the page has asked."""
        await asyncio.wait_for(self._first.wait(), timeout)
        return self.held[0][1]

    async def release(self) -> None:
        """Hand every held reply to the page, oldest first; later requests go straight through."""
        if self._releasing:
            return
        self._releasing = True
        for route, reply in self.held:
            async with self.page.expect_event("requestfinished"):
                await route.fulfill(response=reply)
        await self.page.unroute(self.url)


class HeldFrames:
    """The server's WebSocket frames of one type, held on their way to a page while holding:
    old live news arriving after newer news, on demand (frames of other types pass at once).
    ``install`` before the page opens its socket."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.holding = False
        self.connections = 0
        self.held: list[tuple[WebSocketRoute, dict[str, Any]]] = []
        self._news = asyncio.Event()

    async def install(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/ws$"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        self.connections += 1
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(lambda message: self._from_server(ws, message))

    def _from_server(self, ws: WebSocketRoute, message: str | bytes) -> None:
        frame = json.loads(message) if isinstance(message, str) else None
        if self.holding and isinstance(frame, dict) and frame.get("type") == self.kind:
            self.held.append((ws, frame))
            self._news.set()
        else:
            ws.send(message)

    async def held_one(self, wanted: Any, timeout: float = 10) -> None:
        """Until a held frame satisfies ``wanted`` (a function of the frame)."""
        async with asyncio.timeout(timeout):
            while not any(wanted(frame) for _, frame in self.held):
                self._news.clear()
                await self._news.wait()

    def release_oldest(self) -> dict[str, Any]:
        """Hand the oldest held frame to the page; it is returned."""
        ws, frame = self.held.pop(0)
        ws.send(json.dumps(frame))
        return frame

    def release_all(self) -> None:
        """Stop holding: every held frame goes to the page, oldest first."""
        self.holding = False
        while self.held:
            self.release_oldest()
