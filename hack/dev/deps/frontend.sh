#!/usr/bin/env bash
# Tools for the frontend's tests and benchmark: Debian's Chromium and its chromedriver (the
# browser test in tests/e2e drives them through selenium; nothing is downloaded at test time),
# a font so screenshots show text, wrk for the benchmarks (hack/bench/), and axe-core (npm) for the
# accessibility check of the browser test. No-op when present.
set -euo pipefail
cd "$(dirname "$0")/../../.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  hack/dev/deps/apt-install.sh "${missing[@]}"
fi

# axe-core (accessibility rules) for the browser test, from npm into a gitignored tools folder.
AXE_VERSION=4.14.1
AXE_DIR=.venv-tools/axe
if [ "$(cat "$AXE_DIR/.version" 2>/dev/null)" != "$AXE_VERSION" ]; then
  echo "deps: npm install axe-core@$AXE_VERSION into $AXE_DIR"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --no-save --prefix "$AXE_DIR" "axe-core@$AXE_VERSION"
  echo "$AXE_VERSION" >"$AXE_DIR/.version"
fi
