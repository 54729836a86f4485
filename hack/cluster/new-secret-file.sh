#!/usr/bin/env bash
# Write a random secret to FILE once: hex of BYTES random bytes (default 32), mode 0600, parent
# directory 0700. An existing file is kept (values must stay stable across runs). The value is
# never printed.   Usage: hack/cluster/new-secret-file.sh FILE [BYTES]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 FILE [BYTES]" >&2; exit 2; }
file=$1 bytes=${2:-32}
[[ $bytes =~ ^[0-9]+$ ]] || { echo "new-secret-file: BYTES must be a number" >&2; exit 2; }
if [ -e "$file" ]; then
  echo "new-secret-file: keeping $file" >&2
  exit 0
fi
dir=$(dirname "$file")
mkdir -p "$dir"
chmod 0700 "$dir"
(umask 077 && od -An -tx1 -N"$bytes" /dev/urandom | tr -d ' \n' >"$file")
echo "new-secret-file: wrote $file" >&2
