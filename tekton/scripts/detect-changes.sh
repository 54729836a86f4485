#!/bin/sh
# Decide which services a pipeline run builds and deploys.
#
# Inputs (environment):
#   SOURCE_DIR     the git checkout (HEAD = the revision being built)
#   SERVICES       "auto" (from the git diff), "all", "none", or a comma/space list of services
#   FORCE_ALL      "true" selects every service whatever SERVICES says
#   BASE_REVISION  the commit to diff against for "auto" (push: `before`; PR: base SHA); when it is
#                  empty, all zeros (a new branch) or not in the clone, every service is selected
#   RESULT_SERVICES, RESULT_SERVICES_CSV, RESULT_ANY   files to write the results to (optional)
# Output: the selected services, one per line, on stdout; a note on stderr explaining the choice.
#
# Path rules (keep in step with the CEL overlay in tekton/triggers/):
#   services/product_api/** -> product-api, services/order_api/** -> order-api,
#   services/frontend/** -> frontend; shared code or deployment config (services/kit/**, any other
#   file under services/, manifests/**, tekton/**) -> all; anything else (docs, tests, monitoring)
#   -> nothing to build.
set -eu

ALL="product-api order-api frontend"
SOURCE_DIR=${SOURCE_DIR:-.}
SERVICES=${SERVICES:-auto}
BASE_REVISION=${BASE_REVISION:-}

note() { echo "detect-changes: $*" >&2; }

# map_path PATH -> prints a service name, "all", or nothing
map_path() {
  case "$1" in
    services/product_api/*) echo product-api ;;
    services/order_api/*) echo order-api ;;
    services/frontend/*) echo frontend ;;
    services/* | manifests/* | tekton/*) echo all ;;
    *) ;;
  esac
}

selected=""
add() {
  case " $selected " in
    *" $1 "*) ;;
    *) selected="${selected:+$selected }$1" ;;
  esac
}

# The checkout may sit on a volume whose root belongs to another user, where git refuses to read a
# repository it does not own: trust this one (git-clone.sh does the same), in a global config
# file of this step's own.
if [ -d "$SOURCE_DIR" ]; then
  GIT_CONFIG_GLOBAL=$(mktemp)
  export GIT_CONFIG_GLOBAL
  trap 'rm -f "$GIT_CONFIG_GLOBAL"' EXIT
  git config --global --add safe.directory "$(cd "$SOURCE_DIR" && pwd -P)"
fi

[ "${FORCE_ALL:-false}" != true ] || SERVICES=all
case "$SERVICES" in
  all)
    note "all services requested"
    selected=$ALL
    ;;
  none)
    note "no service requested"
    ;;
  auto | "")
    if [ -z "$BASE_REVISION" ] || [ -z "$(printf '%s' "$BASE_REVISION" | tr -d 0)" ]; then
      note "no base revision (new branch or manual run): selecting all services"
      selected=$ALL
    elif ! git -C "$SOURCE_DIR" cat-file -e "${BASE_REVISION}^{commit}" 2>/dev/null; then
      note "base revision $BASE_REVISION is not in the clone: selecting all services"
      selected=$ALL
    else
      changed=$(git -C "$SOURCE_DIR" diff --name-only "$BASE_REVISION" HEAD --)
      note "$(printf '%s\n' "$changed" | grep -c . || true) changed path(s) since $BASE_REVISION"
      for path in $changed; do
        svc=$(map_path "$path")
        if [ "$svc" = all ]; then
          note "$path is shared: selecting all services"
          selected=$ALL
          break
        fi
        [ -n "$svc" ] && add "$svc"
      done
    fi
    ;;
  *)
    for svc in $(printf '%s' "$SERVICES" | tr ',' ' '); do
      case " $ALL " in
        *" $svc "*) add "$svc" ;;
        *)
          note "unknown service '$svc' (known: $ALL)"
          exit 2
          ;;
      esac
    done
    note "services requested: $selected"
    ;;
esac

# Keep the canonical order so runs are comparable.
ordered=""
for svc in $ALL; do
  case " $selected " in *" $svc "*) ordered="${ordered:+$ordered }$svc" ;; esac
done

json="["
csv=""
for svc in $ordered; do
  json="$json${csv:+,}\"$svc\""
  csv="${csv:+$csv,}$svc"
done
json="$json]"
any=false
[ -n "$ordered" ] && any=true
[ -n "$ordered" ] || note "no service changed: nothing to build"

[ -z "${RESULT_SERVICES:-}" ] || printf '%s' "$json" >"$RESULT_SERVICES"
[ -z "${RESULT_SERVICES_CSV:-}" ] || printf '%s' "$csv" >"$RESULT_SERVICES_CSV"
[ -z "${RESULT_ANY:-}" ] || printf '%s' "$any" >"$RESULT_ANY"
for svc in $ordered; do echo "$svc"; done
