"""`messenger-bot whatsapp sync-templates`: tap-able menus as Twilio Content templates.

One template per set of buttons the content can show (each menu and topic with its
buttons, the alert's, the confirmations'), with the text above the buttons as variable
{{1}}, so a template serves every message that ends in those buttons. Each is created
once through the Content API and its SID kept in the database; running it again only
creates what is new. Button sets WhatsApp cannot show as taps (more than 10, or titles
too long) are left to numbered text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from twilio.base.exceptions import TwilioException
from twilio.rest.content.v1.content import ContentList

from messenger_bot.admin.feedback import vote_buttons
from messenger_bot.channels.shared.words import ChannelWords
from messenger_bot.channels.twilio.rest import make_client
from messenger_bot.channels.whatsapp.render import template_key, template_types
from messenger_bot.channels.whatsapp.store import WhatsAppStore
from messenger_bot.content import Button, Content
from messenger_bot.content.schema import ROOT
from messenger_bot.conversation import ACTION_PREFIX
from messenger_bot.settings import Settings
from messenger_bot.wiring import open_runtime


@dataclass
class SyncReport:
    created: int = 0
    existing: int = 0
    numbered: int = 0
    failed: int = 0


def button_sets(content: Content) -> dict[str, tuple[str, tuple[Button, ...]]]:
    """Every set of buttons the engine shows from this content, by template key, with a name."""
    messages = content.messages
    menu = Button(messages.menu_button, ROOT)
    found: dict[str, tuple[str, tuple[Button, ...]]] = {}

    def add(name: str, buttons: tuple[Button, ...]) -> None:
        found.setdefault(template_key(buttons), (name, buttons))

    for node_id, buttons in content.buttons.items():
        add(node_id, buttons if node_id == ROOT else (*buttons, menu))
        if content.nodes[node_id].kind == "topic":  # as shown with FEEDBACK on
            add(f"{node_id}-rated", (*buttons, *vote_buttons(messages, node_id), menu))
    add("menu-button", (menu,))
    add("alert", (Button(content.nodes["emergency"].title, "emergency"), menu))
    add("delete-confirm", (
        Button(messages.yes_delete_button, f"{ACTION_PREFIX}delete:yes"),
        Button(messages.keep_button, f"{ACTION_PREFIX}delete:no"),
    ))
    return found


def friendly_name(name: str, key: str) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in name.lower())[:40]
    return f"messenger_bot_{safe}_{key[:8]}"


async def sync_templates(settings: Settings, out: list[str]) -> SyncReport:
    runtime = await open_runtime(settings)
    client, http = make_client(settings)
    report = SyncReport()
    try:
        store = WhatsAppStore(runtime.store)
        known = await store.templates()
        words: ChannelWords = runtime.content.extra["channels.yaml"]
        for key, (name, buttons) in button_sets(runtime.content).items():
            shape = template_types(buttons, words.whatsapp.list_button)
            if shape is None:
                report.numbered += 1
                continue
            if key in known:
                report.existing += 1
                continue
            content_type, types = shape
            request = ContentList.ContentCreateRequest({
                "friendly_name": friendly_name(name, key), "language": "en",
                "variables": {"1": words.whatsapp.template_sample}, "types": types,
            })
            try:
                created = await client.content.v1.contents.create_async(request)
            except TwilioException as error:
                report.failed += 1
                out.append(f"{name}: not created ({error})")
                continue
            await store.save_template(key, str(created.sid), content_type, friendly_name(name, key),
                                      datetime.now(UTC))
            report.created += 1
            out.append(f"{name}: {content_type} {created.sid}")
    finally:
        await http.close()
        await runtime.close()
    return report


def run_sync_templates(settings: Settings) -> int:
    """The CLI command: 0 when every template exists afterwards, 1 when some could not be made."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        print("messenger-bot: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN first")
        return 2
    lines: list[str] = []
    report = asyncio.run(sync_templates(settings, lines))
    for line in lines:
        print(line)
    print(f"templates: {report.created} created, {report.existing} already there, "
          f"{report.numbered} left as numbered text, {report.failed} failed")
    if not settings.whatsapp_interactive:
        print("note: set WHATSAPP_INTERACTIVE=true for `serve` to use them")
    return 1 if report.failed else 0
