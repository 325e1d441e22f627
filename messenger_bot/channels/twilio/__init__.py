"""What WhatsApp and SMS through Twilio share: the signed form, the message ids, the REST sender,
the status callbacks and their store, and the webhook's course from form to TwiML.

A Twilio channel (channels/whatsapp, channels/sms) adds only its own: how its addresses
look, how replies render, and what else it must do (templates; STOP and HELP).
"""
