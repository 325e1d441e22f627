#!/usr/bin/env bash
# Run every check: lint, types, the content validator, and the test suite (pytest args pass through).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
.venv/bin/ruff check .
# Function-level imports only in the composition root (pyproject's per-file ignore names it).
.venv/bin/ruff check --select PLC0415 messenger_bot
.venv/bin/mypy messenger_bot
.venv/bin/messenger-bot check-content flows
# Two workers (pytest-xdist), each test file kept on one worker so that a module's own `serve` or
# fake server starts once: most of a test's time is spent waiting on such subprocesses, and the
# second worker fills the idle core. Later arguments win (`./test.sh -n 0` runs in one process);
# with -s the run stays in one process, since workers would swallow what the tests print.
workers=(-n 2 --dist loadfile)
for arg in "$@"; do
  if [ "$arg" = -s ] || [ "$arg" = --capture=no ]; then workers=(); fi
done
exec .venv/bin/pytest "${workers[@]}" "$@"
