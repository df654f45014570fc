"""The interactive API docs in a real browser: Swagger UI starts under the service's strict
Content-Security-Policy, draws every operation with its response model, and asks nothing of any
other origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Browser, ConsoleMessage, Request, expect

from tests.e2e.live import LiveServer


async def test_swagger_ui_renders_the_api_from_our_own_origin(
    live: LiveServer, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    problems: list[str] = []
    origins: set[str] = set()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    def on_request(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https"):
            origins.add(f"{parts.scheme}://{parts.netloc}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", on_request)
    try:
        await page.goto(f"{live.base_url}/api/docs")
        operations = page.locator(".opblock")
        await expect(operations.first).to_be_visible(timeout=20_000)
        assert await operations.count() >= 40
        await expect(page.locator(".info .title")).to_contain_text("peerchat")
        # The models section lists the response models.
        await expect(page.locator("section.models")).to_contain_text("QueueOut")
        # Open one operation: its 200 response shows the typed example, not "string".
        claim = page.locator("#operations-rooms-get_queue_api_v1_queue_get")
        await claim.locator(".opblock-summary").click()
        await expect(claim.locator(".responses-wrapper")).to_contain_text("max_rooms")
    finally:
        await context.close()
    assert origins == {live.base_url}, origins
    assert not problems, problems
