# shellcheck shell=bash
# The project's own install steps, shared by the kind path (hack/cluster/cluster-up.sh) and the
# e2e path (hack/e2e/deploy.sh), so that what `make e2e` proves is what kind users get; each path
# keeps only what is its own (platform add-ons, how images reach the cluster, which overlay it
# applies). tests/cluster_e2e/test_shared_path.py compares the two plans.
# Source it after hack/cluster/common.sh; it defines functions only. The caller defines
# kubectl_ (its kubectl, through `run`), kubectl_probe (the same kubectl, through `probe`: a
# read-only check), STAGING and PRODUCTION (the overlays' directories).

# Namespaces first, with their Pod Security labels: everything after lands in one of them.
create_namespaces() {
  step "Namespaces with their Pod Security labels"
  kubectl_ apply -f "$STAGING/namespace.yaml"
  kubectl_ apply -f "$PRODUCTION/namespace.yaml"
  kubectl_ apply -f monitoring/kubernetes/namespaces.yaml
  kubectl_ apply -f tekton/rbac/namespace.yaml
}

# The environments' Secrets (database passwords, tokens, session secret): env files and the
# Component that makes them Secrets, in .cluster/secrets/ENV (gitignored, mode 0600), which
# manifests/deploy/* compose with the overlays. Kept when present: PostgreSQL keeps its first
# password.
generate_environment_secrets() {
  step "Secrets (generated once, never printed)"
  run hack/gen-secrets.sh "$STAGING" "$PRODUCTION"
}

# create_secret_once NAMESPACE TYPE NAME ARGS...: `kubectl create secret` unless it exists
# (an existing Secret is never overwritten: rotate by deleting it first).
create_secret_once() {
  local namespace=$1 type=$2 name=$3
  shift 3
  if kubectl_probe get secret --namespace "$namespace" "$name"; then
    note "secret $namespace/$name exists; kept"
  else
    kubectl_ create secret "$type" "$name" --namespace "$namespace" "$@"
  fi
}

# create_pipeline_secrets STATE_DIR REGISTRY...: the Secrets the pipelines read in
# techcommerce-ci. The CD pipeline renders manifests/deploy/ENV in the cluster from the same
# files generate_environment_secrets wrote (workspaces staging-secrets / production-secrets, see
# tekton/runs/cd-run.yaml); the webhook secret (Tekton Triggers checks the signature of incoming
# webhooks with it) and push credentials for the REGISTRY hosts (the docker-config workspace)
# are generated once in STATE_DIR.
create_pipeline_secrets() {
  local state=$1
  shift
  create_secret_once techcommerce-ci generic techcommerce-staging-overlay \
    --from-file=.cluster/secrets/staging
  create_secret_once techcommerce-ci generic techcommerce-production-overlay \
    --from-file=.cluster/secrets/production
  run hack/cluster/new-secret-file.sh "$state/webhook-secret" 32
  run hack/cluster/new-registry-auth.sh "$state/registry-config.json" "$@"
  # Name and key as tekton/triggers/eventlistener.yaml's GitHub interceptor reads them.
  create_secret_once techcommerce-ci generic github-webhook-secret \
    --from-file=secret="$state/webhook-secret"
  # The standard key; every docker-config binding (tekton/runs, the triggers, tkn) mounts it as
  # the config.json kaniko and trivy read.
  create_secret_once techcommerce-ci generic techcommerce-registry \
    --type=kubernetes.io/dockerconfigjson \
    --from-file=.dockerconfigjson="$state/registry-config.json"
}

# apply_staging KUSTOMIZATION: the staging overlay (with its Secrets), then wait for PostgreSQL,
# the migrations and every service.
apply_staging() {
  kubectl_ apply -k "$1"
  kubectl_ rollout status --namespace techcommerce-staging statefulset/postgres --timeout=300s
  kubectl_ wait --namespace techcommerce-staging --for=condition=Complete job/migrate --timeout=300s
  local name
  for name in product-api order-api frontend; do
    kubectl_ rollout status --namespace techcommerce-staging "deployment/$name" --timeout=300s
  done
}

# cluster_settings_patch NAME=VALUE...: a JSON patch of the TriggerBinding techcommerce-cluster
# (tekton/triggers/cluster.yaml) that, for each NAME, tests the param's name at its index in the
# file and replaces only its value: every param not named keeps the file's value.
cluster_settings_patch() {
  local names=() ops=() pair name i=0
  mapfile -t names < <(sed -n 's/^    - name: \([a-z-]*\)$/\1/p' tekton/triggers/cluster.yaml)
  for pair in "$@"; do
    name=${pair%%=*}
    for i in "${!names[@]}"; do [ "${names[$i]}" = "$name" ] && break; done
    if [ "${names[$i]:-}" != "$name" ]; then
      echo "cluster_settings_patch: tekton/triggers/cluster.yaml has no param $name" >&2
      return 1
    fi
    ops+=("{\"op\":\"test\",\"path\":\"/spec/params/$i/name\",\"value\":\"$name\"},{\"op\":\"replace\",\"path\":\"/spec/params/$i/value\",\"value\":\"${pair#*=}\"}")
  done
  local IFS=,
  printf '[%s]\n' "${ops[*]}"
}

# apply_tekton_resources REGISTRY [NAME=VALUE...]: the project's Tekton RBAC, Tasks, Pipelines and
# Triggers, then the per-cluster settings of the triggers (tekton/triggers/cluster.yaml:
# webhook-started cd runs push to REGISTRY, over plain HTTP; NAME=VALUE sets another of its params,
# e.g. a step image; set after every apply, which resets them), then wait for the EventListener.
# The caller has created the webhook Secret its GitHub interceptor reads.
apply_tekton_resources() {
  local patch
  patch=$(cluster_settings_patch "registry=$1" insecure-registry=true "${@:2}")
  step "Tekton resources (RBAC, tasks, pipelines, triggers)"
  kubectl_ apply -f tekton/rbac
  kubectl_ apply --namespace techcommerce-ci --recursive -f tekton/tasks
  kubectl_ apply --namespace techcommerce-ci -f tekton/pipelines
  kubectl_ apply --namespace techcommerce-ci -f tekton/triggers
  kubectl_ patch triggerbinding techcommerce-cluster --namespace techcommerce-ci --type json \
    --patch "$patch"
  kubectl_ wait --namespace techcommerce-ci --for=condition=Ready eventlistener --all --timeout=180s
}
