"""The operators' pages as plain server-rendered HTML: every value goes through `esc`.

No template engine and no script: small string templates, a stylesheet from this
package, a chart drawn as inline SVG. Tables scroll sideways on a phone.
"""

from __future__ import annotations

from html import escape

from messenger_bot.admin.dashboard import COLUMNS, Dashboard
from messenger_bot.admin.inbox import Group

CHANNEL_COLOURS = ("#2364aa", "#3da35d", "#e0a100", "#8e44ad", "#c0392b", "#16a085")


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def num(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def page(title: str, body: str, csrf: str | None = None) -> str:
    """The frame: a header with the sections and, when signed in by cookie, a sign-out form."""
    sign_out = ""
    if csrf is not None:
        sign_out = (f'<form method="post" action="/admin/logout" class="out">'
                    f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
                    f'<button type="submit">Sign out</button></form>')
    nav = ('<nav><a href="/admin">Dashboard</a><a href="/admin/inbox">Unanswered</a>'
           f'<a href="/admin/inbox.csv" download>CSV</a>{sign_out}</nav>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)} · messenger-bot</title><link rel="stylesheet" href="/admin/admin.css">'
        f'</head><body><header><h1>{esc(title)}</h1>{nav}</header><main>{body}</main></body></html>'
    )


def login_page(csrf: str, message: str = "") -> str:
    note = f'<p class="note" role="alert">{esc(message)}</p>' if message else ""
    form = (
        f'{note}<form method="post" action="/admin/login" class="login">'
        '<label for="token">Admin token</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" required>'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        '<button type="submit">Sign in</button></form>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Sign in · messenger-bot</title><link rel="stylesheet" href="/admin/admin.css">'
        f'</head><body><header><h1>Sign in</h1></header><main>{form}</main></body></html>'
    )


def _table(headings: list[str], rows: list[list[str]], caption: str) -> str:
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headings)}">Nothing yet.</td></tr>'
    return (f'<div class="scroll"><table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def chart(board: Dashboard) -> str:
    """Messages per day, one bar a day stacked by channel, as inline SVG with a text legend."""
    series = board.messages_per_day()
    width, height, gap = 600, 160, 2
    bar = max(1, width // max(1, len(series)) - gap)
    peak = max([sum(v.values()) for _, v in series] + [1])
    parts = []
    for i, (day, values) in enumerate(series):
        y = height
        for c, channel in enumerate(board.channels):
            h = round(values.get(channel, 0) / peak * (height - 10))
            if h:
                y -= h
                colour = CHANNEL_COLOURS[c % len(CHANNEL_COLOURS)]
                parts.append(
                    f'<rect x="{i * (bar + gap)}" y="{y}" width="{bar}" height="{h}" fill="{colour}">'
                    f"<title>{esc(day)} {esc(channel)}: {values[channel]:,}</title></rect>"
                )
    legend = " ".join(f'<span class="key" data-colour="{c}">■</span> {esc(ch)}'
                      for c, ch in enumerate(board.channels))
    label = "Messages per day by channel"
    return (f'<figure><svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img"'
            f' aria-label="{label}">'
            f'{"".join(parts)}</svg><figcaption>Messages per day, oldest on the left. {legend}'
            f'</figcaption></figure>')


def dashboard_page(board: Dashboard, unanswered: int, csrf: str | None) -> str:
    t = board.totals
    cards: list[tuple[str, int | float | str]] = [
        ("Active users (sum of days)", t["active"]), ("New users", t["new"]), ("Messages", t["messages"]),
        ("Topics read", t["topics"]), ("Emergency alerts", t["alerts"]),
        ("Unanswered groups", unanswered), ("Reminders sent", t["sent"]),
    ]
    lag = board.average_lag()
    cards.append(("Reminder lag, average s", round(lag, 1) if lag is not None else "–"))
    summary = "".join(f'<div class="card"><span class="figure" data-metric="{esc(label)}">'
                      f'{esc(num(v) if isinstance(v, int | float) else v)}</span>{esc(label)}</div>'
                      for label, v in cards)
    body = [f'<p>The last {len(board.days)} days, in UTC.</p><section class="cards">{summary}</section>',
            chart(board), _by_day(board), _by_channel(board), _topics(board), _reminders(board),
            _whatsapp(board)]
    return page("Dashboard", "".join(body), csrf)


def _by_day(board: Dashboard) -> str:
    rows = []
    for day in board.days:
        for channel in board.channels:
            cell = board.cells.get((day, channel))
            if cell:
                rows.append([esc(day), esc(channel), *(num(cell.get(k, 0)) for k, _ in COLUMNS)])
    return _table(["Day", "Channel", *(h for _, h in COLUMNS)], rows, "Per day and channel")


def _by_channel(board: Dashboard) -> str:
    rows = [[esc(c), *(num(board.per_channel[c].get(k, 0)) for k, _ in COLUMNS)] for c in board.channels]
    return _table(["Channel", *(h for _, h in COLUMNS)], rows, "Per channel, whole period")


def _topics(board: Dashboard) -> str:
    ranked = sorted(board.topics.items(), key=lambda kv: -kv[1].get("reads", 0))
    rows = [[esc(topic), num(v.get("reads", 0)), num(v.get("up", 0)), num(v.get("down", 0))]
            for topic, v in ranked]
    return _table(["Topic", "Read", "👍", "👎"], rows, "Topics read and feedback")


def _reminders(board: Dashboard) -> str:
    ranked = sorted(board.reminders.items(), key=lambda kv: -kv[1])
    rows = [[esc(c), esc(s), esc(r or "–"), num(n)] for (c, s, r), n in ranked]
    waiting = ", ".join(f"{esc(c)}: {num(round(s))} s" for c, s in board.waiting.items()) or "none due"
    lag = _table(["Channel", "Outcome", "Reason", "Count"], rows, "Reminders by outcome and reason")
    return f'{lag}<p>Oldest due reminder waiting now: {waiting}.</p>'


def _whatsapp(board: Dashboard) -> str:
    rows = [[esc(code), num(n)] for code, n in board.whatsapp_errors]
    return _table(["Twilio error code", "Messages"], rows, "WhatsApp delivery errors")


def inbox_page(groups: list[Group], days: int, csrf: str | None) -> str:
    rows = [[num(g.count), f'<span class="wording">{esc(g.sample)}</span>', esc(g.guess or "–"),
             num(g.not_sure), num(g.fallback), esc(g.last_at.strftime("%Y-%m-%d %H:00"))] for g in groups]
    intro = (f"<p>Typed questions the bot could not answer, grouped by similar wording. Personal details"
             f" are removed before anything is stored, no entry is linked to a person, and entries are"
             f" deleted after {days} days.</p>"
             '<p><a class="button" href="/admin/inbox.csv" download>Download CSV</a></p>')
    table = _table(["Asked", "Wording", "Bot's guess", "Not sure", "Fallback", "Last (UTC hour)"], rows,
                   "Unanswered questions")
    return page("Unanswered questions", intro + table, csrf)
