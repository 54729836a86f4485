#!/usr/bin/env bash
# Tools the Tekton tests need (tests/tekton/), installed only when missing; a second run is a
# quick no-op:
#   - jq, git, shellcheck (Debian) for the step scripts and their tests;
#   - kubectl (with its embedded kustomize) is expected on the machine; where it is missing, a
#     standalone kustomize is built from the Go module proxy (deploy.sh falls back to it);
#   - @ibm/tekton-lint (npm) and the repository's extra lint rules into .venv-tools/tekton-lint;
#   - the Go validator (hack/tekton-validate) built once into .venv-tools/bin/tekton-validate,
#     rebuilt only when its sources change (the Go module cache stays in the default GOPATH).
set -euo pipefail
cd "$(dirname "$0")/../.."

TOOLS=.venv-tools
TEKTON_LINT_VERSION=1.1.0
KUSTOMIZE_VERSION=v5.5.0

missing=()
for cmd in jq git shellcheck; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[ ${#missing[@]} -eq 0 ] || hack/deps/apt-install.sh "${missing[@]}"

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

validator=$TOOLS/bin/tekton-validate
validator_stamp=$TOOLS/bin/.tekton-validate.sha256
want_validator=$(cat hack/tekton-validate/go.mod hack/tekton-validate/go.sum hack/tekton-validate/*.go | sha256sum | cut -d' ' -f1)
if [ "$(cat "$validator_stamp" 2>/dev/null)" != "$want_validator" ] || [ ! -x "$validator" ]; then
  echo "deps(tekton): building hack/tekton-validate (first build downloads and compiles Tekton: a few minutes)"
  (cd hack/tekton-validate && go build -trimpath -o "../../$validator" .)
  echo "$want_validator" >"$validator_stamp"
fi
