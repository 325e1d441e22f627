#!/usr/bin/env bash
# Run the bot: `./run.sh` serves the web chat (http://localhost:8000), webhooks and
# reminders; `./run.sh chat` talks to it in this terminal; any messenger-bot command works.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
[ $# -gt 0 ] || set -- serve
exec .venv/bin/messenger-bot "$@"
