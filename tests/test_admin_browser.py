"""The operators' page in a real browser (Debian's Chromium through Playwright) against real `serve`.

Set ADMIN_SCREENSHOT=docs/admin.png to save the dashboard as the README shows it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api

from tests.support.server import ServeProcess
from tests.test_admin import TOKEN, seeded
from tests.test_browser import ARGS, CHROMIUM, _require_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, sync_api.Browser]]:
    _require_chromium()
    tmp = tmp_path_factory.mktemp("admin-browser")
    seeded(tmp / "bot.sqlite3")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'bot.sqlite3'}", ADMIN_TOKEN=TOKEN, PID_DIR=str(tmp / "run"),
               PYTHONUNBUFFERED="1")
    with ServeProcess(env, "--no-scheduler") as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield server.url, browser
        finally:
            browser.close()


def test_an_operator_signs_in_reads_the_figures_and_exports_the_inbox(
    site: tuple[str, sync_api.Browser], tmp_path: Path
) -> None:
    url, browser = site
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        response = page.goto(url + "/admin")
        assert response is not None and response.status == 401
        expect(page.locator("main")).not_to_contain_text("1,274")
        page.get_by_label("Admin token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("not right")

        page.get_by_label("Admin token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(url + "/admin")
        expect(page.locator('[data-metric="Messages"]')).to_have_text("1,274")
        expect(page.locator('[data-metric="Emergency alerts"]')).to_have_text("3")
        expect(page.locator("svg rect").first).to_be_visible()
        assert TOKEN not in page.url
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["mb_admin"]["httpOnly"] and cookies["mb_admin"]["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # nothing a script could read
        shot = os.environ.get("ADMIN_SCREENSHOT")
        if shot:
            page.set_viewport_size({"width": 900, "height": 700})
            page.screenshot(path=shot)
            page.set_viewport_size({"width": 390, "height": 844})

        page.get_by_role("link", name="Unanswered").click()
        expect(page.get_by_role("table")).to_contain_text("can my cat give me lip twitching")
        expect(page.get_by_role("table")).to_contain_text("[email]")
        expect(page.get_by_role("table")).not_to_contain_text("Priya")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        saved = tmp_path / "inbox.csv"
        download.value.save_as(saved)
        lines = saved.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("count,wording,guessed_topic")
        assert lines[1].startswith("4,can my cat give me lip twitching,causes")

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Admin token")).to_be_visible()
        assert page.goto(url + "/admin").status == 401  # type: ignore[union-attr]
    finally:
        context.close()
