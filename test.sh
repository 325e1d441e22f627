#!/usr/bin/env bash
# Run every check: lint, the content validator, and the test suite (pytest args pass through).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/messenger-bot check-content flows
exec .venv/bin/pytest "$@"
