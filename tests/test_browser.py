"""The web chat in a real browser: Debian's Chromium, driven by Playwright, against real `serve`.

Chromium comes from the system (`apt-get install chromium`), never from a download at
test time. Without it the test is skipped on a developer's machine, but CI must run it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from tests.support.server import ServeProcess

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install it with `apt-get install chromium`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, sync_api.Browser]]:
    """One real `serve` and one Chromium for the module; each test gets a fresh browser profile."""
    _require_chromium()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'bot.sqlite3'}"
    env["PYTHONUNBUFFERED"] = "1"
    with ServeProcess(env, "--no-scheduler") as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield server.url, browser
        finally:
            browser.close()


@contextlib.contextmanager
def phone(site: tuple[str, sync_api.Browser], **options: Any) -> Iterator[sync_api.Page]:
    """A phone-sized page with its own storage, so its own browser key and conversation;
    `options` are Playwright's, e.g. the time zone and language the phone is set to."""
    url, browser = site
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, **options
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(url)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(site: tuple[str, sync_api.Browser]) -> Iterator[sync_api.Page]:
    with phone(site) as page:
        yield page


def bot_messages(page: sync_api.Page) -> sync_api.Locator:
    return page.locator("#log article.bot")


def tap(page: sync_api.Page, label: str) -> None:
    """Tap the newest button with this label, and wait for the bot's answer to it."""
    before = bot_messages(page).count()
    page.get_by_role("button", name=label, exact=True).last.click()
    sync_api.expect(bot_messages(page)).not_to_have_count(before)


def ask(page: sync_api.Page, text: str) -> None:
    before = bot_messages(page).count()
    page.get_by_label("Type your question").fill(text)
    page.get_by_role("button", name="Send").click()
    sync_api.expect(bot_messages(page)).not_to_have_count(before)


def test_a_person_taps_types_and_sees_an_emergency_alert(page: sync_api.Page, tmp_path: Path) -> None:
    expect = sync_api.expect
    expect(page.locator("#log")).to_contain_text("I'm not a doctor")
    expect(page.get_by_role("button", name="Why is it happening?")).to_be_visible()

    tap(page, "Why is it happening?")
    tap(page, "Everyday causes")
    tap(page, "Caffeine")
    newest = bot_messages(page).last
    expect(newest).to_have_attribute("data-topic", "caffeine")
    expect(newest.locator("strong")).to_have_text("400 mg a day")
    expect(newest.locator("li").first).to_contain_text("5 cups of coffee")
    expect(newest).to_be_focused()

    ask(page, "does stress make my lip twitch?")
    expect(page.locator("#log .msg.me").last).to_have_text("You: does stress make my lip twitch?")
    expect(bot_messages(page).last).to_have_attribute("data-topic", "stress")
    expect(page.get_by_label("Type your question")).to_have_value("")

    ask(page, "my face is drooping and I can't speak")
    alert = page.locator("#log article.kind-alert").last
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert.locator(".badge")).to_have_text("⚠Emergency")
    expect(alert).to_contain_text("stroke")
    expect(alert).to_be_focused()
    colour = alert.evaluate("el => getComputedStyle(el).backgroundColor")
    plain = bot_messages(page).first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour != plain

    page.screenshot(path=str(tmp_path / "webchat-alert.png"))
    page.screenshot(path=str(tmp_path / "webchat-full.png"), full_page=True)
    assert (tmp_path / "webchat-alert.png").stat().st_size > 10_000


def test_markup_in_a_message_is_shown_as_text(page: sync_api.Page) -> None:
    """What a person types is echoed as text: a script tag in it never runs."""
    expect = sync_api.expect
    expect(page.get_by_role("button", name="Why is it happening?")).to_be_visible()
    ask(page, "<img src=x onerror=\"document.title='pwned'\"><b>hi</b>")
    expect(page.locator("#log .msg.me").last).to_contain_text("<b>hi</b>")
    assert page.locator("#log img, #log b").count() == 0
    assert page.title() != "pwned"


def test_the_chat_works_from_the_keyboard_alone(page: sync_api.Page) -> None:
    expect = sync_api.expect
    expect(page.get_by_role("button", name="Why is it happening?")).to_be_visible()
    box = page.get_by_label("Type your question")
    box.focus()
    before = bot_messages(page).count()
    page.keyboard.type("can coffee cause it?")
    page.keyboard.press("Enter")
    expect(bot_messages(page)).not_to_have_count(before)
    answer = bot_messages(page).last
    expect(answer).to_be_focused()
    page.keyboard.press("Tab")
    first_choice = answer.get_by_role("button").first
    expect(first_choice).to_be_focused()
    label = first_choice.inner_text()
    page.keyboard.press("Enter")
    expect(page.locator("#log .msg.me").last).to_have_text(f"You: {label}")


def test_the_diary_summary_shows_its_chart_and_links_its_pdf(page: sync_api.Page) -> None:
    expect = sync_api.expect
    ask(page, "it's twitching again")
    tap(page, "Upper lip")
    ask(page, "summary for my doctor")
    newest = bot_messages(page).last
    expect(newest).to_contain_text("not a diagnosis")
    chart = newest.get_by_role("img", name="Chart of twitches")
    expect(chart).to_be_visible()
    width = chart.evaluate("img => img.decode().then(() => img.naturalWidth)")  # waits for the load
    assert width == 800  # the picture really loaded from its link
    expect(newest.get_by_role("link", name="Summary (PDF)")).to_have_attribute("href", re.compile(r"/files/"))
def test_an_alert_in_london_offers_a_tap_that_calls_999(site: tuple[str, sync_api.Browser]) -> None:
    with phone(site, timezone_id="Europe/London", locale="en-GB") as page:
        ask(page, "my face is drooping and I can't speak")
        alert = page.locator("#log article.kind-alert").last
        call = alert.get_by_role("link", name="999")
        sync_api.expect(call).to_have_attribute("href", "tel:999")
        sync_api.expect(alert).to_contain_text("Call 999 now")
        assert alert.get_by_role("link").count() == 1


def test_with_no_country_known_each_general_number_is_a_tap_to_call(
    site: tuple[str, sync_api.Browser],
) -> None:
    with phone(site, timezone_id="UTC", locale="en") as page:
        ask(page, "I suddenly can't move my arm")
        alert = page.locator("#log article.kind-alert").last
        sync_api.expect(alert).to_contain_text("112 works in most of Europe")
        links = alert.get_by_role("link")
        sync_api.expect(links.first).to_have_attribute("href", "tel:112")
        hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
        assert {"tel:112", "tel:911", "tel:999"} <= hrefs
        topic = bot_messages(page).first
        assert topic.get_by_role("link").count() == 0, "only an alert's numbers become links"
