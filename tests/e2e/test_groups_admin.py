"""Running a group from the staff pages, in a real browser: a supervisor creates a group, sees
who joined, and removes a participant with a reason; the participant loses the group at once.
A group the supervisor closes then shows under "Closed groups"."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.e2e import flows
from tests.e2e.flows import DESKTOP, open_person
from tests.e2e.live import STAFF_PASSWORD, LiveServer
from tests.e2e.test_accessibility import Audit, with_axe


async def test_a_supervisor_creates_a_group_and_removes_a_participant(
    live: LiveServer, browser: Browser
) -> None:
    await live.add_staff("groupsup", "supervisor", handle="Morgan")
    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    await with_axe(supervisor, live.base_url)
    axe = Audit()
    page = supervisor.page
    await flows.sign_in(page, "groupsup", STAFF_PASSWORD)
    admin = page.locator("#groups-admin")
    await admin.get_by_label("New group's name").fill("Sunday evening circle")
    await admin.get_by_role("button", name="Create group").click()
    await expect(admin.get_by_role("heading", name="Sunday evening circle")).to_be_visible()

    async with httpx.AsyncClient(base_url=live.base_url) as http:
        groups = (await http.get("/api/v1/groups", headers=await _staff_auth(http))).json()
        room_id = next(
            g["room_id"] for g in groups["groups"] if g["name"] == "Sunday evening circle"
        )
        session = (await http.post("/api/v1/sessions/anonymous")).json()
        auth = {"Authorization": f"Bearer {session['token']}"}
        assert (await http.post(f"/api/v1/groups/{room_id}/join", headers=auth)).status_code == 200

        item = admin.locator(f'[data-room-id="{room_id}"]')
        await admin.get_by_role("button", name="Members of Sunday evening circle").click()
        member = item.locator(f'[data-member-id="{session["participant_id"]}"]')
        await expect(member).to_contain_text(session["handle"])
        await axe.check(page, "supervisor: a group's members")

        await member.get_by_role("button", name=f"Mute {session['handle']}").click()
        dialog = page.locator("#notes-dialog")
        await dialog.get_by_label("Reason").fill("Off-topic posting")
        await dialog.get_by_role("button", name="Mute").click()
        await expect(member).to_contain_text("(muted)")  # the list stays open
        await member.get_by_role("button", name=f"Remove {session['handle']}").click()
        await dialog.get_by_label("Reason").fill("Repeated abusive messages")
        await dialog.get_by_role("button", name="Remove").click()
        await expect(item).to_contain_text("0 participants")
        await expect(member).to_have_count(0)

        after = await http.get(f"/api/v1/rooms/{room_id}/messages", headers=auth)
        assert after.status_code == 403
        again = await http.post(f"/api/v1/groups/{room_id}/join", headers=auth)
        assert again.status_code == 403

    # Closing a group takes it off the open list and into "Closed groups".
    await admin.get_by_label("New group's name").fill("Tuesday check-in")
    await admin.get_by_role("button", name="Create group").click()
    await expect(admin.get_by_role("heading", name="Tuesday check-in")).to_be_visible()
    await admin.get_by_role("button", name="Close Tuesday check-in").click()
    confirm = page.locator("#confirm-dialog")
    await confirm.get_by_role("button", name="Close group").click()
    open_list = admin.locator(".groups-admin-list").first
    await expect(open_list.get_by_role("heading", name="Tuesday check-in")).to_have_count(0)
    closed = admin.locator(".groups-closed-list")
    await admin.locator("summary", has_text="Closed groups").click()
    await expect(closed.get_by_role("heading", name="Tuesday check-in")).to_be_visible()
    await expect(closed).to_contain_text("closed")
    await expect(closed.get_by_role("heading", name="Sunday evening circle")).to_have_count(0)
    await axe.check(page, "supervisor: closed groups")
    axe.assert_clean()
    assert supervisor.problems == []
    await supervisor.close()

    # Peer supporters moderate groups too: the same section is on their page.
    await live.add_staff("groupwork", "peer_worker", handle="Quinn")
    worker = await open_person(browser, live.base_url, "/worker", DESKTOP)
    await flows.sign_in(worker.page, "groupwork", STAFF_PASSWORD)
    section = worker.page.locator("#groups-admin")
    await expect(section.get_by_role("heading", name="Sunday evening circle")).to_be_visible()
    await section.get_by_role("button", name="Pause Sunday evening circle").click()
    await expect(section.locator(f'[data-room-id="{room_id}"]')).to_contain_text("paused")
    assert worker.problems == []
    await worker.close()

    # A participant sees the paused group as paused, and cannot press Join.
    person = await open_person(browser, live.base_url, "/")
    await flows.start_anonymously(person.page)
    join = person.page.get_by_role("button", name="Join Sunday evening circle")
    await expect(join).to_be_disabled()
    await expect(person.page.locator("#group-list")).to_contain_text("paused for now")
    assert person.problems == []
    await person.close()


async def test_an_older_list_never_hides_a_new_group(live: LiveServer, browser: Browser) -> None:
    """The page's first read of the groups can answer after the read it makes on creating one.
    Held here until then, that older answer must not replace the newer list."""
    await live.add_staff("groupslate", "supervisor", handle="Rory")
    supervisor = await open_person(browser, live.base_url, "/supervisor", DESKTOP)
    page = supervisor.page
    async with flows.HeldReplies(page, "**/api/v1/groups", first_only=True) as lists:
        await flows.sign_in(page, "groupslate", STAFF_PASSWORD)
        await lists.first()
        admin = page.locator("#groups-admin")
        await admin.get_by_label("New group's name").fill("Thursday drop-in")
        await admin.get_by_role("button", name="Create group").click()
        heading = admin.get_by_role("heading", name="Thursday drop-in")
        await expect(heading).to_be_visible()
    await expect(heading).to_be_visible()
    assert supervisor.problems == []
    await supervisor.close()

    async with httpx.AsyncClient(base_url=live.base_url) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "groupslate", "password": STAFF_PASSWORD}
        )
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        groups = (await http.get("/api/v1/groups", headers=auth)).json()["groups"]
        made = next(g["room_id"] for g in groups if g["name"] == "Thursday drop-in")
        closed = await http.post(f"/api/v1/groups/{made}/close", headers=auth)
        assert closed.status_code == 200, closed.text


async def _staff_auth(http: httpx.AsyncClient) -> dict[str, str]:
    login = await http.post(
        "/api/v1/auth/login", json={"username": "groupsup", "password": STAFF_PASSWORD}
    )
    return {"Authorization": f"Bearer {login.json()['token']}"}
