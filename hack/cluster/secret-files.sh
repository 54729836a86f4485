# shellcheck shell=bash
# Shared by new-secret-file.sh and new-registry-auth.sh: a generated secret is written to its file
# once (its value must stay stable across runs), readable by its owner only (file 0600, directory
# 0700), and never printed. Source it; it defines functions only.

# keep_existing TOOL FILE: when FILE exists, say so and exit 0 (an existing value is kept).
keep_existing() {
  if [ -e "$2" ]; then
    echo "$1: keeping $2" >&2
    exit 0
  fi
}

# random_hex BYTES: BYTES random bytes as lower-case hex, without a newline.
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# write_private TOOL FILE: stdin to FILE (mode 0600), its directory created with mode 0700.
write_private() {
  local dir
  dir=$(dirname "$2")
  mkdir -p "$dir"
  chmod 0700 "$dir"
  (umask 077 && cat >"$2")
  echo "$1: wrote $2" >&2
}
