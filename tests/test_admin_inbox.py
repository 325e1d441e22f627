"""Operators' parts on their own: the inbox (scrubbing, grouping, retention), the dashboard's
reading of the daily counts (both backends), and the database-error metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from messenger_bot.admin.inbox import Inbox, groups_csv, scrub
from messenger_bot.storage import Storage
from tests.support.admin_seed import outcome

NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "kept", "gone"),
    [
        ("call me on +44 7911 123456 about my lip", "call me on [phone] about my lip", ["7911", "123456"]),
        ("my number is (555) 123-4567", "my number is [phone]", ["555", "4567"]),
        ("text 07911123456 pls", "text [phone] pls", ["07911123456"]),
        ("email me: jo.smith+bot@mail.example.co.uk", "email me: [email]", ["jo.smith", "example"]),
        ("my name is Priya Raman and my lip twitches", "my name is [name] and my lip twitches",
         ["Priya", "Raman"]),
        ("MY NAME IS bob, lip twitch", "MY NAME IS [name], lip twitch", ["bob"]),
        ("Hi I'm Sarah Connor, why does my lip twitch", "Hi I'm [name], why does my lip twitch",
         ["Sarah", "Connor"]),
        ("patient id 84736251 twitching", "patient id [phone] twitching", ["84736251"]),
        ("order 12345 lip", "order [number] lip", ["12345"]),
        ("ask @jo_smith or see https://x.example/p?id=9", "ask [handle] or see [link]",
         ["jo_smith", "x.example"]),
        ("I drink 400 mg of caffeine since 2024", "I drink 400 mg of caffeine since 2024", []),
        ("i'm worried my lip keeps twitching", "i'm worried my lip keeps twitching", []),
    ],
)
def test_personal_details_are_scrubbed(typed: str, kept: str, gone: list[str]) -> None:
    scrubbed = scrub(typed)
    assert scrubbed == kept
    for word in gone:
        assert word not in scrubbed


async def test_similar_wordings_share_a_group_with_counts_and_the_guess(store: Storage) -> None:
    inbox = Inbox(30)
    for text, guess in [
        ("can my cat give me lip twitching", "causes"),
        ("Can my cat give me lip twitching?", "causes"),
        ("can my cat give me lip twitchin", "stress"),
        ("is lip twitching contagious", None),
        ("how do I stop my cat scratching the sofa", None),
    ]:
        inbox.add(outcome("web", NOW, tapped=False, faq="not_sure" if guess else "fallback", text=text,
                          guess=guess))
    assert await inbox.flush(store) == 5
    groups = await inbox.groups(store, NOW)
    assert [(g.count, g.guess) for g in groups] == [(3, "causes"), (1, None), (1, None)]
    assert groups[0].sample == "can my cat give me lip twitching"
    assert (groups[0].not_sure, groups[0].fallback) == (3, 0)
    assert {g.sample for g in groups[1:]} == {
        "is lip twitching contagious", "how do I stop my cat scratching the sofa"
    }
    # A second process (a fresh Inbox) finds the stored groups rather than starting new ones.
    other = Inbox(30)
    other.add(outcome("telegram", NOW, tapped=False, faq="fallback", text="is lip twitching contagious?"))
    await other.flush(store)
    assert [g.count for g in await other.groups(store, NOW)] == [3, 2, 1]


async def test_nothing_is_kept_past_the_retention(store: Storage) -> None:
    inbox = Inbox(days=30)
    inbox.add(outcome("web", NOW - timedelta(days=31), tapped=False, faq="fallback", text="old question"))
    inbox.add(outcome("web", NOW - timedelta(days=29), tapped=False, faq="fallback", text="recent question"))
    await inbox.flush(store)
    assert {g.sample for g in await inbox.groups(store, NOW)} == {"recent question"}  # hidden at once
    assert await inbox.purge(store, NOW) == 1
    assert [r[0] for r in await store.fetch("SELECT text FROM unanswered")] == ["recent question"]
    assert [r[0] for r in await store.fetch("SELECT sample FROM unanswered_groups")] == ["recent question"]


async def test_stored_rows_hold_no_user_and_only_the_hour(store: Storage) -> None:
    inbox = Inbox(30)
    inbox.add(outcome("whatsapp", NOW, tapped=False, faq="fallback", text="my name is Ann, email ann@x.org"))
    await inbox.flush(store)
    rows = await store.fetch("SELECT * FROM unanswered")
    assert len(rows) == 1
    assert "Ann" not in str(rows) and "ann@x.org" not in str(rows)
    assert datetime(2026, 3, 10, 14, tzinfo=UTC).timestamp() in tuple(rows[0])
    csv_text = groups_csv(await inbox.groups(store, NOW))
    assert "my name is [name], email [email]" in csv_text


def test_csv_cells_cannot_run_as_spreadsheet_formulas() -> None:
    from messenger_bot.admin.inbox import Group

    group = Group(1, "=HYPERLINK(\"http://x\")", 2, NOW, None, 0, 2)
    assert "'=HYPERLINK" in groups_csv([group])


async def test_the_dashboard_reads_the_daily_counts_on_both_backends(store: Storage) -> None:
    from messenger_bot.admin.dashboard import load_dashboard
    from tests.support.admin_seed import seed_known

    await seed_known(store, NOW)
    await seed_known(store, NOW)  # a second instance's counts add up
    board = await load_dashboard(store, NOW, 14)
    assert board.channels == ["telegram", "web"]
    assert (board.totals["messages"], board.totals["new"], board.totals["alerts"]) == (2548, 80, 6)
    assert board.topics["caffeine"] == {"reads": 412, "up": 10, "down": 4}
    assert board.cells[(NOW.date().isoformat(), "web")]["tapped"] == 1234
    assert [g.count for g in await Inbox(30).groups(store, NOW)][:1] == [8]


def test_database_failures_the_app_logs_are_counted_in_the_metrics() -> None:
    import logging

    from messenger_bot.admin.metrics import DatabaseErrorCounter, Metrics

    metrics = Metrics()
    handler = DatabaseErrorCounter(metrics)
    web = logging.getLogger("messenger_bot.web")
    web.addHandler(handler)
    try:
        web.warning("database unavailable on %s: %s", "/api/chat", "ConnectionRefusedError")
        web.warning("something else went wrong")
    finally:
        web.removeHandler(handler)
    assert "messenger_bot_database_errors_total 1.0" in metrics.render().decode()
