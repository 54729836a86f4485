#!/usr/bin/env bash
# Deploy TechCommerce images (pinned by digest) to one environment, or roll it back.
#
#   deploy.sh deploy [REGISTRY/techcommerce/SERVICE@sha256:DIGEST ...]
#   deploy.sh rollback                  (REVISION and SERVICES choose what to restore)
#
# What a deploy does, in order:
#   1. release = the images recorded for the current release, with the given images on top
#      (only changed services are built, but every Deployment must stay pinned by digest);
#   2. render manifests/deploy/ENV (the overlay and the environment's generated Secrets) through
#      a wrapper kustomization whose `images:` entries are exactly what `kustomize edit set image
#      NAME=REF@DIGEST` writes, so the overlay in the checkout is never edited; check every
#      TechCommerce image in the output is digest-pinned;
#   3. pick the mode: SIMULATE=true, or SIMULATE=auto with no credentials (no kubeconfig file and
#      not in a cluster) or a cluster that cannot be reached -> SIMULATED: print the commands and
#      the rendered manifests, change nothing (and succeed);
#   4. otherwise: server-side dry run, apply, wait for the migration Job and every rollout,
#      smoke test each service through the API server's service proxy (/ready plus one real
#      call), and record the release in the ConfigMap techcommerce-deployments (key
#      history.json, newest first, at most HISTORY_LIMIT entries), where a rollback finds it.
# A rollback takes an earlier recorded release (REVISION=previous or a revision number) and
# deploys its images the same way, recording a new release with "action": "rollback".
#
# Environment:
#   ENVIRONMENT      staging | production (namespace techcommerce-ENV, manifests/deploy/ENV)
#   SOURCE_DIR       the checkout holding manifests/ (default .)
#   SIMULATE         auto | true | false (default auto; false fails when the cluster is unreachable)
#   KUBECONFIG_FILE  kubeconfig for a remote cluster (optional; else the in-cluster service account)
#   OVERLAY_SECRETS_DIR  the environment's generated Secrets, never in git: what
#                    `hack/gen-secrets.sh manifests/overlays/ENV` writes in .cluster/secrets/ENV
#                    (the *.env files and kustomization.yaml, the Component that makes them
#                    Secrets), copied there in SOURCE_DIR before rendering; from the Task's
#                    optional overlay-secrets workspace (unbound: they must be in SOURCE_DIR)
#   KUBECONFIG_BOUND, KUBECONFIG_DIR   from the Task's optional kubeconfig workspace: when bound,
#                    KUBECONFIG_FILE is KUBECONFIG_DIR/kubeconfig
#   COMMIT, PIPELINE_RUN   recorded with the release
#   REVISION         rollback target: "previous" (default: the newest successful release that
#                    differs from the current one), a recorded revision number, or "undo-failed"
#                    (roll back only if the newest release is recorded as failed, else do nothing)
#   SERVICES         rollback: "all" (default) or a comma list of services to restore
#   ROLLOUT_TIMEOUT  per rollout (default 300s)
#   IMAGE_OVERRIDES  the images the overlay names besides the services' (postgres), as this
#                    cluster gets them: space-separated NAME=IMAGE, IMAGE by exact tag or digest
#                    (e.g. postgres=mirror.internal/library/postgres:15.14-bookworm), written as
#                    the wrapper's `images:` entries too; default empty: the overlay's own
#   STATE_FILE       simulation only: a JSON file standing in for history.json, read and updated
#                    (without it a simulation cannot know the recorded release: services not in
#                    this deploy may then render unpinned, which is a warning, not an error)
#   RESULT_MODE, RESULT_SMOKE_TEST, RESULT_REVISION   Tekton result files (optional)
#   KUBECTL          the kubectl command (default kubectl)
#   SERVICE_ACCOUNT_DIR  the in-cluster service account's token and CA (default: where Kubernetes
#                    mounts them)
set -euo pipefail

SERVICES_ALL=(product-api order-api frontend)
# One real API call per service for the smoke test (besides /ready).
declare -A SMOKE_PATH=([product-api]=/products [order-api]=/openapi.yaml [frontend]=/)
SMOKE_PORT_NAME=${SMOKE_PORT_NAME:-http}
HISTORY_LIMIT=${HISTORY_LIMIT:-20}
CONFIGMAP=techcommerce-deployments

action=${1:-}
[ $# -gt 0 ] && shift
ENVIRONMENT=${ENVIRONMENT:-}
SOURCE_DIR=${SOURCE_DIR:-.}
SIMULATE=${SIMULATE:-auto}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-300s}
REVISION=${REVISION:-previous}
SERVICES=${SERVICES:-all}
KUBECTL=${KUBECTL:-kubectl}
SERVICE_ACCOUNT_DIR=${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
COMMIT=${COMMIT:-unknown}
PIPELINE_RUN=${PIPELINE_RUN:-manual}

log() { echo "deploy: $*" >&2; }
die() {
  log "ERROR: $*"
  exit "${2:-1}"
}
result() { # result FILE-VAR VALUE
  local file=${!1:-}
  [ -z "$file" ] || printf '%s' "$2" >"$file"
}

case "$action" in deploy | rollback) ;; *) die "usage: deploy.sh deploy REF... | deploy.sh rollback" 2 ;; esac
case "$ENVIRONMENT" in staging | production) ;; *) die "ENVIRONMENT must be staging or production, got '$ENVIRONMENT'" 2 ;; esac
case "$SIMULATE" in auto | true | false) ;; *) die "SIMULATE must be auto, true or false" 2 ;; esac
declare -A override=()
for entry in ${IMAGE_OVERRIDES:-}; do
  [[ "$entry" =~ ^([a-z0-9._/-]+)=([a-z0-9.:-]+(/[a-z0-9._-]+)+)(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$ ]] ||
    die "IMAGE_OVERRIDES entry '$entry' is not NAME=REGISTRY/PATH:TAG or NAME=REGISTRY/PATH@sha256:DIGEST" 2
  [[ "${BASH_REMATCH[1]}" != techcommerce/* ]] ||
    die "IMAGE_OVERRIDES cannot set ${BASH_REMATCH[1]}: the services' images come from the release" 2
  [ "${BASH_REMATCH[4]}" != :latest ] || die "IMAGE_OVERRIDES entry '$entry': pin an exact tag or a digest, not latest" 2
  override[${BASH_REMATCH[1]}]=${entry#*=}
done
NAMESPACE=techcommerce-$ENVIRONMENT
SOURCE_DIR=$(cd "$SOURCE_DIR" && pwd)
DEPLOYMENT=manifests/deploy/$ENVIRONMENT
[ -f "$SOURCE_DIR/$DEPLOYMENT/kustomization.yaml" ] || die "no kustomization at $SOURCE_DIR/$DEPLOYMENT"
result RESULT_SMOKE_TEST skipped
result RESULT_MODE none

is_service() {
  local s
  for s in "${SERVICES_ALL[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

# ---- mode: can we reach the target? -------------------------------------------------------
mode=""
reason=""
if [ "${KUBECONFIG_BOUND:-false}" = true ]; then
  KUBECONFIG_FILE=${KUBECONFIG_DIR:?KUBECONFIG_DIR is required when KUBECONFIG_BOUND=true}/kubeconfig
fi
if [ -n "${KUBECONFIG_FILE:-}" ]; then
  [ -f "$KUBECONFIG_FILE" ] || die "KUBECONFIG_FILE $KUBECONFIG_FILE does not exist"
  export KUBECONFIG=$KUBECONFIG_FILE
  credentials="kubeconfig $KUBECONFIG_FILE"
elif [ -n "${KUBERNETES_SERVICE_HOST:-}" ] && [ -f "$SERVICE_ACCOUNT_DIR/token" ]; then
  # kubectl falls back to the in-cluster config only when no connection flag is given: with
  # --request-timeout it tries localhost:8080 instead. A kubeconfig naming the service account's
  # token and CA keeps every flag working (the e2e cluster showed it: every deploy "simulated").
  host=$KUBERNETES_SERVICE_HOST
  case "$host" in *:*) host="[$host]" ;; esac
  KUBECONFIG=$(mktemp "${TMPDIR:-/tmp}/deploy-kubeconfig.XXXXXX")
  export KUBECONFIG
  cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: in-cluster
    cluster:
      server: https://$host:${KUBERNETES_SERVICE_PORT:-443}
      certificate-authority: $SERVICE_ACCOUNT_DIR/ca.crt
users:
  - name: service-account
    user:
      tokenFile: $SERVICE_ACCOUNT_DIR/token
contexts:
  - name: in-cluster
    context: {cluster: in-cluster, user: service-account}
current-context: in-cluster
EOF
  credentials="in-cluster service account"
else
  credentials=""
fi
if [ "$SIMULATE" = true ]; then
  mode=simulated reason="simulation requested (SIMULATE=true)"
elif [ -z "$credentials" ]; then
  mode=simulated reason="no credentials: no kubeconfig given and not running in a cluster"
elif ! "$KUBECTL" auth can-i patch deployments -n "$NAMESPACE" --request-timeout=15s >/dev/null 2>&1; then
  mode=simulated reason="$credentials cannot patch deployments in $NAMESPACE (unreachable or forbidden)"
else
  mode=applied
fi
if [ "$mode" = simulated ] && [ "$SIMULATE" = false ]; then
  die "SIMULATE=false but $reason"
fi
log "mode: $mode${reason:+ ($reason)}"

# ---- history ---------------------------------------------------------------------------------
read_history() {
  if [ "$mode" = simulated ]; then
    if [ -n "${STATE_FILE:-}" ] && [ -s "$STATE_FILE" ]; then cat "$STATE_FILE"; else echo '[]'; fi
    return
  fi
  local out
  if out=$("$KUBECTL" get configmap "$CONFIGMAP" -n "$NAMESPACE" --ignore-not-found \
    -o 'jsonpath={.data.history\.json}'); then
    if [ -n "$out" ]; then echo "$out"; else echo '[]'; fi
  else
    die "cannot read ConfigMap $CONFIGMAP in $NAMESPACE"
  fi
}
history=$(read_history)
jq -e 'type == "array"' >/dev/null <<<"$history" || die "recorded history is not a JSON array"
current_images=$(jq -c '.[0].images // {}' <<<"$history")

# ---- what to deploy ----------------------------------------------------------------------
declare -A release=()
changed=()
while IFS=$'\t' read -r svc ref; do
  [ -n "$svc" ] && release[$svc]=$ref
done < <(jq -r 'to_entries[] | "\(.key)\t\(.value)"' <<<"$current_images")

if [ "$action" = deploy ]; then
  [ $# -gt 0 ] || {
    log "no image given: nothing to deploy"
    exit 0
  }
  for ref in "$@"; do
    [[ "$ref" =~ ^([a-z0-9.:-]+(/[a-z0-9._-]+)*)/techcommerce/([a-z-]+)@sha256:[0-9a-f]{64}$ ]] ||
      die "'$ref' is not REGISTRY/techcommerce/SERVICE@sha256:DIGEST" 2
    svc=${BASH_REMATCH[3]}
    is_service "$svc" || die "unknown service '$svc' in $ref" 2
    release[$svc]=$ref
    changed+=("$svc")
  done
  record_action=deploy
  rollback_of=null
else
  if [ "$REVISION" = undo-failed ]; then
    # Automatic rollback (the cd pipeline's finally): only when the newest release failed.
    if [ "$(jq -r '.[0].status // "none"' <<<"$history")" != failed ]; then
      log "the newest release in $NAMESPACE did not fail: nothing to roll back"
      result RESULT_MODE none
      exit 0
    fi
    REVISION=previous
  fi
  if [ "$REVISION" = previous ]; then
    # The newest release that succeeded and differs from what runs now (history[0], which may be
    # a release whose smoke test failed).
    target=$(jq -c '.[0].images as $now | .[1:] | map(select(.status == "succeeded" and .images != $now)) | .[0] // empty' <<<"$history")
    [ -n "$target" ] || die "no earlier successful release recorded in $CONFIGMAP/$NAMESPACE to roll back to"
  else
    [[ "$REVISION" =~ ^[0-9]+$ ]] || die "REVISION must be previous, undo-failed or a revision number" 2
    target=$(jq -c --argjson r "$REVISION" 'map(select(.revision == $r)) | .[0] // empty' <<<"$history")
    [ -n "$target" ] || die "revision $REVISION is not recorded in $CONFIGMAP/$NAMESPACE"
  fi
  rollback_of=$(jq '.revision' <<<"$target")
  if [ "$SERVICES" = all ]; then
    wanted=("${SERVICES_ALL[@]}")
  else
    IFS=', ' read -r -a wanted <<<"$SERVICES"
  fi
  for svc in "${wanted[@]}"; do
    [ -n "$svc" ] || continue
    is_service "$svc" || die "unknown service '$svc'" 2
    ref=$(jq -r --arg s "$svc" '.images[$s] // empty' <<<"$target")
    if [ -z "$ref" ]; then
      log "revision $rollback_of has no image for $svc: left as it is"
      continue
    fi
    if [ "${release[$svc]:-}" != "$ref" ]; then
      release[$svc]=$ref
      changed+=("$svc")
    fi
  done
  log "rolling back to revision $rollback_of: ${changed[*]:-nothing differs}"
  record_action=rollback
  COMMIT=$(jq -r '.commit // "unknown"' <<<"$target")
fi

# ---- render ------------------------------------------------------------------------------
secrets="$SOURCE_DIR/.cluster/secrets/$ENVIRONMENT"
if [ -n "${OVERLAY_SECRETS_DIR:-}" ] && [ -d "$OVERLAY_SECRETS_DIR" ]; then
  (umask 077 && mkdir -p "$secrets")
  for f in "$OVERLAY_SECRETS_DIR"/*.env "$OVERLAY_SECRETS_DIR"/kustomization.yaml; do
    [ -f "$f" ] || continue
    (umask 077 && cp "$f" "$secrets/")
  done
fi
[ -f "$secrets/kustomization.yaml" ] ||
  die "no Secrets for $ENVIRONMENT: bind the overlay-secrets workspace to a Secret made from
.cluster/secrets/$ENVIRONMENT/ (all its files, kustomization.yaml included) after
hack/gen-secrets.sh manifests/overlays/$ENVIRONMENT (tekton/README.md, Install)"
work="$SOURCE_DIR/.deploy/$ENVIRONMENT"
mkdir -p "$work"
{
  echo "# Written by tekton/scripts/deploy.sh: $DEPLOYMENT with images pinned by digest."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - ../../$DEPLOYMENT"
  echo "images:"
  for svc in "${SERVICES_ALL[@]}"; do
    ref=${release[$svc]:-}
    [ -n "$ref" ] || continue
    echo "  - name: techcommerce/$svc"
    echo "    newName: ${ref%@*}"
    echo "    digest: ${ref#*@}"
  done
  for name in "${!override[@]}"; do
    ref=${override[$name]}
    echo "  - name: $name"
    if [[ "$ref" == *@sha256:* ]]; then
      echo "    newName: ${ref%@*}"
      echo "    digest: ${ref#*@}"
    else
      echo "    newName: ${ref%:*}"
      echo "    newTag: ${ref##*:}"
    fi
  done
} >"$work/kustomization.yaml"
rendered="$work/rendered.yaml"
# kubectl embeds kustomize; a standalone kustomize does the same where kubectl is missing.
if command -v "$KUBECTL" >/dev/null 2>&1; then
  render=("$KUBECTL" kustomize "$work")
else
  render=(kustomize build "$work")
fi
(umask 077 && "${render[@]}" >"$rendered") ||
  die "kustomize could not render $DEPLOYMENT (a Secret's env file missing? see OVERLAY_SECRETS_DIR)"

# Every TechCommerce image must be pinned by digest: an unpinned one means this environment has
# no recorded image for that service yet (first deployment: run the cd pipeline with services=all).
unpinned=$(grep -E '^[[:space:]-]*image:[[:space:]]*[^[:space:]]*techcommerce/' "$rendered" | grep -v '@sha256:[0-9a-f]\{64\}' || true)
if [ -n "$unpinned" ]; then
  if [ "$mode" = applied ] || [ -n "${STATE_FILE:-}" ]; then
    die "images not pinned by digest in the rendered manifests:
$unpinned
(no recorded release for those services in $NAMESPACE: deploy them with services=all)"
  fi
  # A simulation without the cluster cannot see the recorded release that would pin them.
  log "WARNING: not pinned by digest here (the release recorded in the cluster, which a
simulation cannot read, would pin them; with none recorded a real deploy fails):
$unpinned"
fi
for svc in "${changed[@]}"; do
  grep -qF "${release[$svc]}" "$rendered" || die "rendered manifests do not use ${release[$svc]}"
done
if grep -E '^[[:space:]]+namespace:' "$rendered" | grep -qv "namespace: $NAMESPACE\$"; then
  log "note: the overlay renders resources outside $NAMESPACE:"
  grep -E '^[[:space:]]+namespace:' "$rendered" | sort | uniq -c >&2
fi
deployments=()
for svc in "${SERVICES_ALL[@]}"; do
  # A Deployment document whose metadata.name (two-space indent) is the service.
  if awk -v n="$svc" '/^---/ {k=""} /^kind: Deployment$/ {k="d"}
      k=="d" && /^  name: / && $2==n {found=1} END {exit !found}' "$rendered"; then
    deployments+=("$svc")
  fi
done
[ ${#deployments[@]} -gt 0 ] || die "the rendered overlay has no TechCommerce Deployment"
has_migrate_job=false
awk '/^---/ {k=""} /^kind: Job$/ {k="j"} k=="j" && /^  name: migrate$/ {f=1} END {exit !f}' \
  "$rendered" && has_migrate_job=true
log "rendered $(grep -c '^kind:' "$rendered") resources; deployments: ${deployments[*]}"

# redact FILE: the rendered manifests with the values of every Secret's data/stringData hidden
# (simulation prints them to the log).
redact() {
  awk '
    function flush(i, indata, l) {
      for (i = 1; i <= n; i++) {
        l = doc[i]
        if (secret) {
          if (l ~ /^(data|stringData):/) indata = 1
          else if (l !~ /^  /) indata = 0
          else if (indata && l ~ /^   /) continue # a long value folded over more lines
          else if (indata) sub(/:.*/, ": <redacted>", l)
        }
        print l
      }
      n = 0
      secret = 0
    }
    /^---$/ { flush(); print; next }
    { doc[++n] = $0; if ($0 == "kind: Secret") secret = 1 }
    END { flush() }
  ' "$1"
}

# ---- the record --------------------------------------------------------------------------
images_json=$(for svc in "${!release[@]}"; do printf '%s\t%s\n' "$svc" "${release[$svc]}"; done |
  jq -R -s -c 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add // {}')
changed_json=$(printf '%s\n' "${changed[@]}" | jq -R -s -c 'split("\n") | map(select(length > 0))')
next_revision=$(jq '(map(.revision) | max // 0) + 1' <<<"$history")
record="$work/record.json"
# write_record STATUS: the ConfigMap holding history.json with this release on top
write_record() {
  local entry
  entry=$(jq -n -c --argjson rev "$next_revision" --arg action "$record_action" --arg commit "$COMMIT" \
    --arg run "$PIPELINE_RUN" --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg status "$1" \
    --argjson images "$images_json" --argjson changed "$changed_json" --argjson of "$rollback_of" \
    '{revision: $rev, action: $action, status: $status, commit: $commit, pipelineRun: $run,
      time: $time, images: $images, changed: $changed}
     + (if $of == null then {} else {rollbackOf: $of} end)')
  new_history=$(jq -c --argjson e "$entry" --argjson n "$HISTORY_LIMIT" '[$e] + . | .[:$n]' <<<"$history")
  # The ConfigMap as JSON (which kubectl apply reads like YAML).
  jq -n --arg name "$CONFIGMAP" --arg ns "$NAMESPACE" --arg history "$new_history" \
    '{apiVersion: "v1", kind: "ConfigMap",
      metadata: {name: $name, namespace: $ns,
                 labels: {"app.kubernetes.io/part-of": "techcommerce",
                          "app.kubernetes.io/managed-by": "tekton"}},
      data: {"history.json": $history}}' >"$record"
}

# ---- simulate or apply -------------------------------------------------------------------
commands=()
[ "$has_migrate_job" = true ] && commands+=("$KUBECTL delete job migrate -n $NAMESPACE --ignore-not-found --wait=true")
commands+=("$KUBECTL apply --dry-run=server -f $rendered" "$KUBECTL apply -f $rendered")
[ "$has_migrate_job" = true ] &&
  commands+=("$KUBECTL wait --for=condition=complete job/migrate -n $NAMESPACE --timeout=$ROLLOUT_TIMEOUT")
for svc in "${deployments[@]}"; do
  commands+=("$KUBECTL rollout status deployment/$svc -n $NAMESPACE --timeout=$ROLLOUT_TIMEOUT")
done
for svc in "${deployments[@]}"; do
  for path in /ready "${SMOKE_PATH[$svc]}"; do
    commands+=("$KUBECTL get --raw /api/v1/namespaces/$NAMESPACE/services/http:$svc:$SMOKE_PORT_NAME/proxy$path")
  done
done
commands+=("$KUBECTL apply -f $record")

if [ "$mode" = simulated ]; then
  echo "=== SIMULATED $record_action to $NAMESPACE: $reason ==="
  echo "--- images (as kustomize edit set image would set them) ---"
  for svc in "${SERVICES_ALL[@]}"; do
    [ -z "${release[$svc]:-}" ] || echo "kustomize edit set image techcommerce/$svc=${release[$svc]}"
  done
  echo "--- commands that would run ---"
  printf '%s\n' "${commands[@]}"
  echo "--- rendered manifests ($rendered, Secret values redacted) ---"
  redact "$rendered"
  write_record succeeded
  echo "--- release record ($record) ---"
  cat "$record"
  [ -z "${STATE_FILE:-}" ] || printf '%s\n' "$new_history" >"$STATE_FILE"
  result RESULT_MODE simulated
  result RESULT_REVISION "$next_revision"
  echo "SIMULATED: nothing was applied to $NAMESPACE (revision $next_revision would be recorded)"
  exit 0
fi

run() {
  log "+ $*"
  "$@"
}
if [ "$has_migrate_job" = true ]; then
  # A Job's pod template is immutable: the new release's migration needs a new Job, and the
  # server's dry run of the release would refuse the changed template of the old one (the e2e
  # cluster showed it). The old Job has finished; removing it changes nothing that serves.
  run "$KUBECTL" delete job migrate -n "$NAMESPACE" --ignore-not-found --wait=true
fi
run "$KUBECTL" apply --dry-run=server -f "$rendered" >/dev/null
run "$KUBECTL" apply -f "$rendered"
result RESULT_MODE applied
failed=""
if [ "$has_migrate_job" = true ]; then
  run "$KUBECTL" wait --for=condition=complete job/migrate -n "$NAMESPACE" --timeout="$ROLLOUT_TIMEOUT" ||
    failed="migration job"
fi
for svc in "${deployments[@]}"; do
  run "$KUBECTL" rollout status "deployment/$svc" -n "$NAMESPACE" --timeout="$ROLLOUT_TIMEOUT" ||
    failed="${failed:+$failed, }rollout of $svc"
done
if [ -z "$failed" ]; then
  for svc in "${deployments[@]}"; do
    for path in /ready "${SMOKE_PATH[$svc]}"; do
      url="/api/v1/namespaces/$NAMESPACE/services/http:$svc:$SMOKE_PORT_NAME/proxy$path"
      ok=false
      for _ in 1 2 3 4 5; do
        # timeout(1), not --request-timeout: kubectl would add ?timeout=10s to the proxied URL,
        # and the service answers an unknown query parameter with 422 (the e2e cluster showed it)
        if timeout 10 "$KUBECTL" get --raw "$url" >/dev/null; then
          ok=true
          break
        fi
        sleep 5
      done
      if [ "$ok" = true ]; then log "smoke test $svc $path: ok"; else failed="${failed:+$failed, }smoke test $svc $path"; fi
    done
  done
fi
if [ -n "$failed" ]; then
  result RESULT_SMOKE_TEST failed
  write_record failed
  run "$KUBECTL" apply -f "$record" || log "could not record the failed release"
  result RESULT_REVISION "$next_revision"
  die "release $next_revision to $NAMESPACE FAILED: $failed (a rollback restores the last good release)"
fi
result RESULT_SMOKE_TEST passed
write_record succeeded
run "$KUBECTL" apply -f "$record"
result RESULT_REVISION "$next_revision"
log "released revision $next_revision to $NAMESPACE"
