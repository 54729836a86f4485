#!/usr/bin/env bash
# Write a Docker config.json (the .dockerconfigjson of a kubernetes.io/dockerconfigjson Secret)
# once, with a generated user and password for each registry HOST. Mode 0600; never printed; an
# existing file is kept.   Usage: hack/cluster/new-registry-auth.sh FILE HOST...
# The credentials only matter to a registry that checks them: kind's local registry does not.
set -euo pipefail
# shellcheck source=secret-files.sh source-path=SCRIPTDIR
source "$(dirname "$0")/secret-files.sh"
[ $# -ge 2 ] || { echo "usage: $0 FILE HOST..." >&2; exit 2; }
file=$1
shift
keep_existing new-registry-auth "$file"
auth=$(printf 'techcommerce:%s' "$(random_hex 24)" | base64 | tr -d '\n')
entries=""
for host in "$@"; do
  [[ $host =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || { echo "new-registry-auth: bad host '$host'" >&2; exit 2; }
  entries+="${entries:+,}\"$host\":{\"auth\":\"$auth\"}"
done
printf '{"auths":{%s}}\n' "$entries" | write_private new-registry-auth "$file"
