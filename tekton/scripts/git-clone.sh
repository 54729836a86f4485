#!/bin/sh
# Fetch one revision of a git repository into an (emptied) directory.
#
# Inputs (environment):
#   URL        repository URL (https, ssh or file)
#   REVISION   branch, tag, full commit SHA or refs/pull/N/head
#   DEPTH      fetch depth; "0" fetches the whole history (detect-changes diffs against the base
#              commit, so the default keeps enough history for that)
#   DEST       directory to clone into; its contents are deleted first (idempotent re-runs)
#   RESULT_COMMIT, RESULT_URL, RESULT_SHORT_COMMIT   files to write the results to (optional)
set -eu

: "${URL:?URL is required}"
REVISION=${REVISION:-main}
DEPTH=${DEPTH:-0}
: "${DEST:?DEST is required}"

case "$DEPTH" in
  '' | *[!0-9]*)
    echo "git-clone: DEPTH must be a number, got '$DEPTH'" >&2
    exit 2
    ;;
esac

mkdir -p "$DEST"
# Empty the directory, dotfiles included, without following symlinks out of it.
find "$DEST" -mindepth 1 -maxdepth 1 -exec rm -rf {} +

# A volume's root often belongs to another user (root, on local-path volumes): git refuses to work
# in a directory it does not own ("dubious ownership"). Trust this one checkout, in a global config
# file of this step's own (the user's own git config is not touched).
GIT_CONFIG_GLOBAL=$(mktemp)
export GIT_CONFIG_GLOBAL
trap 'rm -f "$GIT_CONFIG_GLOBAL"' EXIT
git config --global --add safe.directory "$(cd "$DEST" && pwd -P)"

git init --quiet "$DEST"
cd "$DEST"
git config advice.detachedHead false
git remote add origin "$URL"
if [ "$DEPTH" = 0 ]; then
  git fetch --quiet --no-tags origin "$REVISION"
else
  git fetch --quiet --no-tags --depth "$DEPTH" origin "$REVISION"
fi
git checkout --quiet --force FETCH_HEAD

commit=$(git rev-parse HEAD)
echo "git-clone: $URL $REVISION -> $commit"
[ -z "${RESULT_COMMIT:-}" ] || printf '%s' "$commit" >"$RESULT_COMMIT"
[ -z "${RESULT_SHORT_COMMIT:-}" ] || printf '%s' "$(git rev-parse --short=7 HEAD)" >"$RESULT_SHORT_COMMIT"
[ -z "${RESULT_URL:-}" ] || printf '%s' "$URL" >"$RESULT_URL"
