-- The language a user is answered in (an ISO 639-1 code such as 'es'): their own choice, or what
-- the first contact told (their app's language, their first message, their phone's country).
-- NULL for users from before: settled on their next message.
ALTER TABLE users ADD COLUMN language TEXT;
