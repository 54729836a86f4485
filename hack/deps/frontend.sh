#!/usr/bin/env bash
# Tools for the frontend's tests and benchmark: Debian's Chromium and its chromedriver (the
# browser test in tests/e2e drives them through selenium; nothing is downloaded at test time),
# a font so screenshots show text, and wrk for hack/bench_frontend.py. No-op when present.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  hack/deps/apt-install.sh "${missing[@]}"
fi
