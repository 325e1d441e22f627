#!/usr/bin/env bash
# Create .venv and install the project with the locked versions, on first use and
# again whenever pyproject.toml or constraints.txt change. Quiet when nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "messenger-bot needs Python 3.11 or newer (found: $("$python" --version 2>&1))." >&2
  exit 1
fi
stamp=.venv/.installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "Setting up .venv (first run, or the dependencies changed)..." >&2
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >&2
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]" >&2
echo "$want" > "$stamp"
