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
exec .venv/bin/pytest "$@"
