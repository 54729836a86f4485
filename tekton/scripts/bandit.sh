#!/bin/sh
# Static security analysis with bandit. Writes the full report (every severity) as JSON and SARIF,
# then fails when any finding of HIGH severity exists (bandit's own filter decides, not a parser).
#
# Inputs (environment):
#   SOURCE_DIR   the checkout
#   TARGETS      space-separated paths to scan, relative to SOURCE_DIR (default: services)
#   EXCLUDE      comma-separated glob paths to skip (default: test code)
#   REPORT_DIR   where bandit.json and bandit.sarif are written
#   INSTALL      "true": pip install bandit[sarif]==BANDIT_VERSION into VENV first
#   BANDIT       the bandit command when INSTALL=false (default: bandit)
#   PIP_INDEX_URL  package index for INSTALL=true (default empty: pip's own default index)
set -eu
# shellcheck source=python-step.sh source-path=SCRIPTDIR
. "$(dirname "$0")/python-step.sh"

SOURCE_DIR=${SOURCE_DIR:-.}
TARGETS=${TARGETS:-services}
EXCLUDE=${EXCLUDE:-*/tests/*,*/test_*.py}
: "${REPORT_DIR:?REPORT_DIR is required}"
INSTALL=${INSTALL:-true}
BANDIT_VERSION=${BANDIT_VERSION:-1.9.4}

enter_checkout
if [ "$INSTALL" = true ]; then
  install_venv "bandit[sarif]==$BANDIT_VERSION"
  BANDIT="$VENV/bin/bandit"
else
  BANDIT=${BANDIT:-bandit}
fi

# shellcheck disable=SC2086 # TARGETS is a list of paths on purpose
set -- $TARGETS

echo "bandit: scanning $* (excluding $EXCLUDE)"
"$BANDIT" -q -r "$@" -x "$EXCLUDE" --exit-zero -f json -o "$REPORT_DIR/bandit.json"
"$BANDIT" -q -r "$@" -x "$EXCLUDE" --exit-zero -f sarif -o "$REPORT_DIR/bandit.sarif"
echo "bandit: reports written to $REPORT_DIR/bandit.json and bandit.sarif"

# The gate: bandit exits 1 when a finding at or above the given severity exists.
if ! "$BANDIT" -q -r "$@" -x "$EXCLUDE" --severity-level high -f screen; then
  echo "bandit: HIGH severity findings: FAILED" >&2
  exit 1
fi
echo "bandit: no HIGH severity finding"
