"""SMS through Twilio, built from channels/twilio and channels/shared alone.

What is SMS's own: its addresses (a number in E.164, which is also the user key), its
segments (GSM-7 or UCS-2, and SMS_MAX_SEGMENTS per message), plain text without
formatting, numbered menus, and the keywords carriers expect (STOP, START, HELP).
"""

from messenger_bot.channels.sms.channel import SmsChannel
from messenger_bot.channels.sms.sender import SmsSender

__all__ = ["SmsChannel", "SmsSender"]
