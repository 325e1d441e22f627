"""WhatsApp through Twilio: what is WhatsApp's own on top of channels/twilio.

Its addresses (`whatsapp:+44…`, and a username's business-scoped id), its 24-hour
window and the approved templates outside it, and tap-able menus as Content templates.
"""

from messenger_bot.channels.whatsapp.channel import WhatsAppChannel
from messenger_bot.channels.whatsapp.sender import WhatsAppSender

__all__ = ["WhatsAppChannel", "WhatsAppSender"]
