"""What every channel shares, written once: text splitting, numbered menus, inbound de-duplication.

Each module is one idea and imports nothing of a channel, so any channel (and the content
loader, for `words`) can use it without pulling another channel's stack in.
"""
