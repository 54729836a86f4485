#!/bin/sh
# Lint (ruff) and test (pytest with coverage) a Python source tree; fail on any lint error, any
# failing test, or total coverage below the gate. Reports land in REPORT_DIR:
#   junit.xml (pytest), coverage.xml (Cobertura), ruff.txt (lint findings, if any)
#
# Inputs (environment):
#   SOURCE_DIR     the checkout (pyproject.toml holds the ruff and pytest settings)
#   REPORT_DIR     where reports are written (created)
#   COVERAGE_MIN   minimum total coverage in percent (integer, 0-100)
#   COV_SOURCE     what coverage measures, relative to SOURCE_DIR (default: services)
#   TEST_PATHS     space-separated test paths for pytest (default: pyproject's testpaths)
#   REQUIREMENTS   pinned requirements file relative to SOURCE_DIR (default: tests/requirements.txt)
#   INSTALL        "true": create a virtualenv in VENV and install REQUIREMENTS plus pytest-cov;
#                  "false": use PYTHON as it is (it must have ruff, pytest and pytest-cov)
#   PYTHON         interpreter when INSTALL=false (default python3)
#   VENV           virtualenv path when INSTALL=true (default /tmp/venv)
#   PYTEST_COV_VERSION  pytest-cov pin for INSTALL=true
#   PIP_INDEX_URL  package index for INSTALL=true (default empty: pip's own default index)
set -eu
# shellcheck source=python-step.sh source-path=SCRIPTDIR
. "$(dirname "$0")/python-step.sh"

SOURCE_DIR=${SOURCE_DIR:-.}
: "${REPORT_DIR:?REPORT_DIR is required}"
COVERAGE_MIN=${COVERAGE_MIN:-80}
COV_SOURCE=${COV_SOURCE:-services}
REQUIREMENTS=${REQUIREMENTS:-tests/requirements.txt}
INSTALL=${INSTALL:-true}
PYTEST_COV_VERSION=${PYTEST_COV_VERSION:-7.1.0}

case "$COVERAGE_MIN" in
  '' | *[!0-9]*)
    echo "python-test: COVERAGE_MIN must be an integer percentage, got '$COVERAGE_MIN'" >&2
    exit 2
    ;;
esac
[ "$COVERAGE_MIN" -le 100 ] || {
  echo "python-test: COVERAGE_MIN must be at most 100" >&2
  exit 2
}

enter_checkout
if [ "$INSTALL" = true ]; then
  install_venv -r "$REQUIREMENTS" "pytest-cov==$PYTEST_COV_VERSION"
  PYTHON="$VENV/bin/python"
else
  PYTHON=${PYTHON:-python3}
fi

status=0
echo "python-test: ruff check"
if ! "$PYTHON" -m ruff check --output-format concise . >"$REPORT_DIR/ruff.txt" 2>&1; then
  cat "$REPORT_DIR/ruff.txt"
  echo "python-test: ruff check FAILED" >&2
  status=1
fi
echo "python-test: ruff format --check"
if ! "$PYTHON" -m ruff format --check .; then
  echo "python-test: ruff format FAILED (run: ruff format .)" >&2
  status=1
fi

echo "python-test: pytest ${TEST_PATHS:-} (coverage gate ${COVERAGE_MIN}%)"
# shellcheck disable=SC2086 # TEST_PATHS is a list of paths on purpose
if ! "$PYTHON" -m pytest -p no:cacheprovider ${TEST_PATHS:-} \
  --junitxml="$REPORT_DIR/junit.xml" \
  --cov="$COV_SOURCE" --cov-report=term \
  --cov-report="xml:$REPORT_DIR/coverage.xml" \
  --cov-fail-under="$COVERAGE_MIN"; then
  echo "python-test: pytest FAILED (failing tests or coverage below ${COVERAGE_MIN}%)" >&2
  status=1
fi

echo "python-test: reports in $REPORT_DIR"
exit "$status"
