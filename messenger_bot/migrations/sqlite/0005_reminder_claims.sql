-- The pass that holds a reminder's lease (`claimed_until`): a random token per dispatch pass.
-- A pass extends only the leases it holds, while it works (a heartbeat), so a slow pass keeps
-- its rows and another dispatcher never claims them meanwhile.
ALTER TABLE reminder_subscriptions ADD COLUMN claimed_by TEXT;
