"""The participant page in the reader's language, in a real browser: Spanish from a Spanish
browser (text, helplines, topics, the `language` sent to the API), a switch to English that is
remembered, right-to-left for a right-to-left language, and no serious axe violation in Spanish."""

from __future__ import annotations

import json

from playwright.async_api import Browser, Route, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, PHONE, open_person
from tests.e2e.live import LiveServer
from tests.e2e.test_accessibility import BLOCKING, violations, with_axe


async def test_spanish_browser_gets_spanish_and_can_switch_to_english(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "about:blank", PHONE, locale="es-MX")
    await with_axe(person, live.base_url)
    page = person.page
    await page.goto(f"{live.base_url}/")
    html = page.locator("html")
    await expect(html).to_have_attribute("lang", "es")
    await expect(html).to_have_attribute("dir", "ltr")
    await expect(page.locator("#welcome-title")).to_have_text(
        "No tienes que cargar con esto a solas."
    )
    await expect(page.get_by_role("button", name="Necesito ayuda", exact=True)).to_be_visible()
    await expect(page.get_by_label("Idioma")).to_have_value("es")

    # Spanish helplines, Spanish labels on their links.
    await page.get_by_role("button", name="Teléfonos").click()
    await expect(page.locator("#resources-title")).to_have_text("Líneas de ayuda")
    resources = page.locator("#resources-list")
    await expect(resources).to_contain_text("Teléfono de la Esperanza")
    await expect(resources).to_contain_text("Línea de la Vida")
    await expect(resources.get_by_role("link", name="Llamar al 024")).to_be_visible()
    await expect(resources).not_to_contain_text("Samaritans")
    await page.get_by_role("button", name="Cerrar").click()

    # Starting sends the chosen language, and the next screen and topics are in Spanish.
    async with page.expect_request("**/sessions/anonymous") as sent:
        await page.get_by_role("button", name="Empezar de forma anónima").click()
    assert json.loads((await sent.value).post_data or "{}") == {"language": "es"}
    await expect(page.locator("#start-title")).to_contain_text("Hola,")
    await expect(page.get_by_role("radio", name="Ánimo bajo")).to_be_attached()
    blocking = [v for v in await violations(page) if v["impact"] in BLOCKING]
    assert not blocking, blocking

    # Switching to English changes the page at once, keeps the chosen topic, and is remembered.
    await page.get_by_role("radio", name="Soledad").check()
    await page.get_by_label("Idioma").select_option("en")
    await expect(html).to_have_attribute("lang", "en")
    await expect(page.locator("#start-title")).to_contain_text("Hi,")
    await expect(page.get_by_role("radio", name="Loneliness")).to_be_checked()
    await page.get_by_role("button", name="Helplines").click()
    await expect(resources).to_contain_text("Samaritans")
    await page.get_by_role("button", name="Close").click()
    await page.reload()
    await expect(page.locator("#start-title")).to_contain_text("Hi,")
    await expect(page.get_by_label("Language")).to_have_value("en")

    # The conversation's own words follow the language too.
    await page.get_by_label("Language").select_option("es")
    await page.get_by_role("button", name="Hablar a solas con alguien").click()
    await expect(page.locator("#chat-status")).to_have_text("Esperando a una persona de apoyo")
    await expect(page.get_by_role("button", name="Cancelar la petición")).to_be_visible()
    assert not person.problems, person.problems
    await person.close()


async def test_a_right_to_left_language_needs_only_its_files(
    live: LiveServer, browser: Browser
) -> None:
    """An Arabic translation added as files (here served by the test) turns the page right to
    left, with English for whatever it has not translated yet."""
    person = await open_person(browser, live.base_url, "about:blank", DESKTOP, locale="ar")
    page = person.page

    async def languages(route: Route) -> None:
        body = {"en": "English", "es": "Español", "ar": "العربية"}
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    async def arabic(route: Route) -> None:
        body = {"welcome.title": "لست مضطرًا لتحمّل هذا وحدك."}
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    await person.context.route(f"{live.base_url}/static/i18n/languages.json", languages)
    await person.context.route(f"{live.base_url}/static/i18n/ar.json", arabic)
    await page.goto(f"{live.base_url}/")
    html = page.locator("html")
    await expect(html).to_have_attribute("dir", "rtl")
    await expect(html).to_have_attribute("lang", "ar")
    await expect(page.locator("#welcome-title")).to_have_text("لست مضطرًا لتحمّل هذا وحدك.")
    await expect(page.get_by_role("button", name="Start anonymously")).to_be_visible()  # English
    await page.locator("#language").select_option("es")
    await expect(html).to_have_attribute("dir", "ltr")
    await expect(page.locator("#welcome-title")).to_have_text(
        "No tienes que cargar con esto a solas."
    )
    assert not person.problems, person.problems
    await person.close()


async def test_flows_still_read_in_english_for_an_english_browser(
    live: LiveServer, browser: Browser
) -> None:
    person = await open_person(browser, live.base_url, "/", PHONE, locale="en-GB")
    page = person.page
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await flows.start_anonymously(page)
    await expect(page.get_by_role("radio", name="Low mood")).to_be_attached()
    assert not person.problems, person.problems
    await person.close()


async def test_spanish_fits_the_smallest_phone(live: LiveServer, browser: Browser) -> None:
    """The longer Spanish words keep the top bar's three safety buttons on a 360 px screen."""
    person = await open_person(
        browser, live.base_url, "/", {"width": 360, "height": 740}, locale="es-ES"
    )
    page = person.page
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    for name in ("Salir", "Teléfonos", "Necesito ayuda"):
        await expect(page.locator(".topbar").get_by_text(name, exact=True)).to_be_in_viewport()
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert not person.problems, person.problems
    await person.close()


async def test_times_follow_the_chosen_language_not_the_browser(
    live: LiveServer, browser: Browser
) -> None:
    """An American browser shows "03:41 PM"; the reader who chose Spanish sees Spanish times."""
    person = await open_person(browser, live.base_url, "/", PHONE, locale="en-US")
    page = person.page
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.get_by_label("Language").select_option("es")
    await page.get_by_role("button", name="Empezar de forma anónima").click()
    await page.get_by_role("radio", name="Soledad").check()
    await page.get_by_role("button", name="Hablar a solas con alguien").click()
    await flows.send(page, "hola", "#composer-input")
    await flows.expect_once(page, "hola")
    stamp = page.locator(".msg time").last
    await expect(stamp).not_to_be_empty()
    shown, expected, american = await stamp.evaluate(
        """(el) => {
            const at = new Date(el.getAttribute('datetime'));
            const opts = { hour: '2-digit', minute: '2-digit' };
            return [el.textContent, new Intl.DateTimeFormat('es', opts).format(at),
                    new Intl.DateTimeFormat('en-US', opts).format(at)];
        }"""
    )
    assert shown == expected and shown != american, (shown, expected, american)
    assert not person.problems, person.problems
    await person.close()
