#!/usr/bin/env bash
# Write a random secret to FILE once: hex of BYTES random bytes (default 32), mode 0600, parent
# directory 0700. An existing file is kept (values must stay stable across runs). The value is
# never printed.   Usage: hack/cluster/new-secret-file.sh FILE [BYTES]
set -euo pipefail
# shellcheck source=secret-files.sh source-path=SCRIPTDIR
source "$(dirname "$0")/secret-files.sh"
[ $# -ge 1 ] || { echo "usage: $0 FILE [BYTES]" >&2; exit 2; }
file=$1 bytes=${2:-32}
[[ $bytes =~ ^[0-9]+$ ]] || { echo "new-secret-file: BYTES must be a number" >&2; exit 2; }
keep_existing new-secret-file "$file"
random_hex "$bytes" | write_private new-secret-file "$file"
