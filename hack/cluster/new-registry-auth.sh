#!/usr/bin/env bash
# Write a Docker config.json (the .dockerconfigjson of a kubernetes.io/dockerconfigjson Secret)
# once, with a generated user and password for each registry HOST. Mode 0600; never printed; an
# existing file is kept.   Usage: hack/cluster/new-registry-auth.sh FILE HOST...
# The credentials only matter to a registry that checks them: kind's local registry does not.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 FILE HOST..." >&2; exit 2; }
file=$1
shift
if [ -e "$file" ]; then
  echo "new-registry-auth: keeping $file" >&2
  exit 0
fi
dir=$(dirname "$file")
mkdir -p "$dir"
chmod 0700 "$dir"
password=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
auth=$(printf 'techcommerce:%s' "$password" | base64 | tr -d '\n')
entries=""
for host in "$@"; do
  [[ $host =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || { echo "new-registry-auth: bad host '$host'" >&2; exit 2; }
  entries+="${entries:+,}\"$host\":{\"auth\":\"$auth\"}"
done
(umask 077 && printf '{"auths":{%s}}\n' "$entries" >"$file")
echo "new-registry-auth: wrote $file" >&2
