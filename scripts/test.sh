#!/usr/bin/env bash
# The one test command (README): sets up everything the tests need, then runs them all.
# - a Python venv (.venv) with the pinned test requirements: the official MCP SDK client,
#   moto (the local AWS emulator) and cfn-lint;
# - a moto server on a free loopback port, with the standard AWS settings pointing at it
#   (AWS_ENDPOINT_URL, dummy credentials, us-east-1), stopped when this script exits;
# - the `mailshot` binary that process-level tests spawn;
# - `cargo test` over the whole workspace. Tests that need the emulator fail (never skip)
#   when AWS_ENDPOINT_URL is unset.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${MAILSHOT_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# An absolute path from now on (MAILSHOT_VENV may be relative or absolute).
VENV="$(cd "$VENV" && pwd)"
# Quiet unless it fails; pip is a no-op when everything is already installed.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
export MAILSHOT_PYTHON="$VENV/bin/python"
export MAILSHOT_VENV_BIN="$VENV/bin"

# A free loopback port, chosen by the kernel.
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MOTO_LOG="$(mktemp -t mailshot-moto.XXXXXX.log)"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
# SIGKILL: the emulator's state is thrown away anyway, and after a full run (gigabytes of
# deep-copied tables) a polite shutdown spends minutes freeing memory.
trap 'kill -9 "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/data.json', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then
    echo "moto server failed to start:" >&2; cat "$MOTO_LOG" >&2; exit 1
  fi
  sleep 0.2
done
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE

# The `mailshot` binary with every backend: the tests drive the AWS backend against moto.
cargo build --quiet -p mailshot-cli --features aws
cargo test --workspace "$@"
