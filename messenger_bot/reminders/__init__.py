"""Opt-in reminders: water during waking hours and a daily caffeine check-in.

The database is the source of truth (subscriptions with `next_due_at`, an outbox row per
send); `feature` holds the conversation, `schedule` the times, `dispatcher` the sending,
`scheduler` the APScheduler tick. Kept import-free so the content loader can import
`texts` without pulling in the engine.
"""
