"""The twitch diary: logging twitches, an opt-in follow-up, and a summary for a doctor.

`feature` holds the conversation, `store` the tables, `followup` the dispatch step that
the reminder scheduler and `reminders send-due` run after the reminders, `summary` the
figures and text, `chart` and `pdf` the files, `files` their expiring links. Kept
import-free so the content loader can import `texts` without pulling in the engine.
"""
