#!/usr/bin/env bash
# Everything `make run` and `make test` need on a fresh machine, installed only when missing:
# the virtualenv with pinned Python packages, then each area's system tools (hack/dev/deps/*.sh).
# Safe to run again: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.requirements.sha256

if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "setup: installing PostgreSQL server binaries"
  hack/dev/deps/apt-install.sh postgresql
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
want=$(cat services/requirements.txt tests/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing pinned Python packages"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$want" >"$STAMP"
fi

if [ "${1:-}" != "--run-only" ]; then
  for script in hack/dev/deps/*.sh; do
    [ "$(basename "$script")" = apt-install.sh ] && continue
    "$script"
  done
fi
