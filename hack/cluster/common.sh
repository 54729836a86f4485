# shellcheck shell=bash
# Helpers shared by hack/cluster-up and hack/cluster-down (and the e2e scripts, through
# hack/e2e/lib.sh). Source it; it defines functions only.
#
# Every command that touches the machine or the cluster goes through `run` (or `probe` for a
# read-only check whose answer decides what to do next). With DRY_RUN=1 neither executes
# anything: each prints the command on stdout as one line starting with "+ ", so the whole plan
# can be read and tested. Without DRY_RUN the same line goes to stderr before the command runs.

DRY_RUN=${DRY_RUN:-0}
# The plan goes to fd 3, a copy of the caller's stdout, so that commands whose output a script
# captures ($(probe_output ...)) never swallow their own "+ " line.
exec 3>&1

# Progress headings (stderr, so a dry-run's stdout holds commands only).
step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# One shell word per argument, quoted only where the shell needs it, so the printed line is a
# command a person can paste.
quote_words() {
  local out="" word
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./:=@,+%^-]+$ ]]; then
      out+="$word "
    else
      out+="'${word//\'/\'\\\'\'}' "
    fi
  done
  printf '%s' "${out% }"
}

show() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ %s\n' "$*" >&3
  else
    printf '+ %s\n' "$*" >&2
  fi
}

# run CMD...: print, then (unless dry-run) execute.
run() {
  show "$(quote_words "$@")"
  [ "$DRY_RUN" = 1 ] || "$@"
}

# probe CMD...: a read-only check. Prints it like run; executes it quietly and returns its
# status. In a dry-run it returns 1 ("not there yet"), so the plan shows what a first run on a
# fresh machine does.
probe() {
  show "$(quote_words "$@")"
  [ "$DRY_RUN" = 1 ] && return 1
  "$@" >/dev/null 2>&1
}

# probe_output CMD...: like probe, but prints the command's stdout (empty in a dry-run).
probe_output() {
  show "$(quote_words "$@")"
  [ "$DRY_RUN" = 1 ] && return 0
  "$@" 2>/dev/null || true
}

# need TOOL HINT: fail with an install hint when TOOL is missing.
need() {
  local tool=$1 hint=$2
  probe command -v "$tool" && return 0
  [ "$DRY_RUN" = 1 ] && return 0
  die "$tool is required but not installed. $hint"
}

# Load hack/versions.env (KEY=value lines) into the environment, refusing anything unpinned.
load_versions() {
  local file=$1 key value
  [ -f "$file" ] || die "missing $file"
  while IFS='=' read -r key value; do
    case $key in '' | '#'*) continue ;; esac
    [[ $key =~ ^[A-Z][A-Z0-9_]*$ ]] || die "$file: bad key '$key'"
    [ -n "$value" ] || die "$file: $key is empty"
    case $value in *latest*) die "$file: $key must be pinned, not '$value'" ;; esac
    printf -v "$key" '%s' "$value"
    # shellcheck disable=SC2163 # exporting the variable named by $key is the point
    export "$key"
  done <"$file"
}

# usage: the script's header comment (from line 2 to `set -euo`), without the comment marks.
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }

# common_option ARG: the options every cluster script takes (--dry-run, --help); anything else
# is a usage error. Call it from the `*)` branch of a script's own option loop.
common_option() {
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

# read_cluster_name: CLUSTER_NAME from the environment (default techcommerce), checked.
read_cluster_name() {
  CLUSTER_NAME=${CLUSTER_NAME:-techcommerce}
  [[ $CLUSTER_NAME =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "CLUSTER_NAME must be lower-case letters, digits and dashes"
}

# pick_engine: ENGINE from CONTAINER_ENGINE, else docker if installed, else podman (a dry run
# assumes docker); kind is told when it is podman.
pick_engine() {
  if [ -n "${CONTAINER_ENGINE:-}" ]; then
    ENGINE=$CONTAINER_ENGINE
  elif [ "$DRY_RUN" = 1 ]; then
    ENGINE=docker
  elif command -v docker >/dev/null 2>&1; then
    ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then
    ENGINE=podman
  else
    die "a container engine is required: install Docker (https://docs.docker.com/engine/install/) or Podman (https://podman.io/docs/installation)"
  fi
  case $ENGINE in
    docker) ;;
    podman) export KIND_EXPERIMENTAL_PROVIDER=podman ;;
    *) die "CONTAINER_ENGINE must be docker or podman, not '$ENGINE'" ;;
  esac
}
