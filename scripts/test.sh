#!/usr/bin/env bash
# The one test command (README): sets up everything the tests need, then runs them all.
# - a Python venv (.venv) with the pinned test requirements (the official MCP SDK client);
# - the `mailshot` binary the process-level tests spawn;
# - `cargo test` over the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${MAILSHOT_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ -f tests/requirements.txt ]; then
  # Quiet unless it fails; pip is a no-op when everything is already installed.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
fi
export MAILSHOT_PYTHON="$PWD/$VENV/bin/python"

cargo build --quiet -p mailshot-infra
cargo test --workspace "$@"
