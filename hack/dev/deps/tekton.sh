#!/usr/bin/env bash
# Tools the Tekton tests need (tests/tekton/), installed only when missing; a second run is a
# quick no-op:
#   - jq, git, shellcheck (Debian) for the step scripts and their tests;
#   - kubectl (with its embedded kustomize) is expected on the machine; where it is missing, a
#     standalone kustomize is built from the Go module proxy (deploy.sh falls back to it);
#   - @ibm/tekton-lint (npm) and the repository's extra lint rules into .venv-tools/tekton-lint;
#   - the Go validator: its wrapper hack/tekton-validate builds it (sources in
#     hack/tools/tekton-validate) into .venv-tools/bin/tekton-validate on first use and when the
#     sources change, with the patched Go toolchain its go.mod names (GOTOOLCHAIN, served by the
#     Go module proxy); the Go module cache stays in the default GOPATH;
#   - govulncheck (pinned) into .venv-tools/bin, and its offline vulnerability database, built by
#     hack/tools/vulndb.py from the golang.org/x/vulndb module (pinned) into the cache outside the
#     clone (${TECHCOMMERCE_CACHE:-$HOME/.cache/techcommerce}/vulndb/VERSION), so fresh clones
#     reuse it; .venv-tools/vulndb points at it. tests/tekton/test_govulncheck.py runs the scan.
set -euo pipefail
cd "$(dirname "$0")/../../.."

TOOLS=.venv-tools
CACHE=${TECHCOMMERCE_CACHE:-$HOME/.cache/techcommerce}
TEKTON_LINT_VERSION=1.1.0
KUSTOMIZE_VERSION=v5.5.0
GOVULNCHECK_VERSION=v1.9.0
# golang.org/x/vulndb at 2026-11-05 (its OSV files are the database); newer: `go list -m
# golang.org/x/vulndb@latest`.
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

missing=()
for cmd in jq git shellcheck; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[ ${#missing[@]} -eq 0 ] || hack/dev/deps/apt-install.sh "${missing[@]}"

mkdir -p "$TOOLS/bin"
if ! kubectl kustomize --help >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1 &&
  [ ! -x "$TOOLS/bin/kustomize" ]; then
  echo "deps(tekton): building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$PWD/$TOOLS/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi

lint_dir=$TOOLS/tekton-lint
lint_stamp=$lint_dir/.installed
want_lint="$TEKTON_LINT_VERSION $(cat tekton/lint-rules/package.json tekton/lint-rules/index.js | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$lint_stamp" 2>/dev/null)" != "$want_lint" ] || [ ! -x "$lint_dir/node_modules/.bin/tekton-lint" ]; then
  echo "deps(tekton): installing @ibm/tekton-lint $TEKTON_LINT_VERSION"
  mkdir -p "$lint_dir"
  npm install --prefix "$lint_dir" --no-audit --no-fund --silent --no-save \
    "@ibm/tekton-lint@$TEKTON_LINT_VERSION" "$PWD/tekton/lint-rules"
  echo "$want_lint" >"$lint_stamp"
fi

hack/tekton-validate --help >/dev/null

# Go's local telemetry counters (govulncheck and the go command keep them): off.
[ "$(go telemetry 2>/dev/null)" = off ] || go telemetry off

if [ "$(cat "$TOOLS/bin/.govulncheck.version" 2>/dev/null)" != "$GOVULNCHECK_VERSION" ] ||
  [ ! -x "$TOOLS/bin/govulncheck" ]; then
  echo "deps(tekton): building govulncheck $GOVULNCHECK_VERSION"
  GOBIN="$PWD/$TOOLS/bin" go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
  echo "$GOVULNCHECK_VERSION" >"$TOOLS/bin/.govulncheck.version"
fi
vulndb=$CACHE/vulndb/$VULNDB_VERSION
if [ ! -f "$vulndb/index/modules.json" ]; then
  echo "deps(tekton): building the offline Go vulnerability database $VULNDB_VERSION"
  osv=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | jq -r .Dir)/data/osv
  # v0.0.0-YYYYMMDDHHMMSS-COMMIT: the commit's time is the database's date.
  modified=$(echo "$VULNDB_VERSION" |
    sed -E 's/^v0\.0\.0-([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})-.*/\1-\2-\3T\4:\5:\6Z/')
  python3 hack/tools/vulndb.py "$osv" "$vulndb" "$modified"
fi
ln -sfn "$vulndb" "$TOOLS/vulndb"
# The known-vulnerable module version tests/tekton/test_govulncheck.py proves the scan with
# (golang.org/x/text v0.3.7, GO-2022-1059) and its fixed version, so the scan runs offline.
go mod download golang.org/x/text@v0.3.7 golang.org/x/text@v0.3.8
