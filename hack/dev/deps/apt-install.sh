#!/usr/bin/env bash
# Install Debian packages that are missing (as root, or through sudo). Usage: apt-install.sh PKG...
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: apt-get install ${missing[*]}"
stamp=/tmp/techcommerce-apt-updated
if [ ! -f "$stamp" ]; then
  $sudo apt-get update -qq
  touch "$stamp"
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
