#!/bin/sh
# Build (and push) one TechCommerce service image with kaniko from services/Dockerfile.
# Runs under kaniko's debug image (busybox sh), so POSIX sh only.
#
# Inputs (environment):
#   SERVICE     product-api | order-api | frontend (the Dockerfile gets SERVICE=product_api ...)
#   REGISTRY    registry and path prefix, e.g. registry.example.com/shop (no trailing slash)
#   COMMIT      full commit SHA: the first tag (and the OCI revision label)
#   BRANCH      branch name: the second tag, made tag-safe (feature/x -> feature-x)
#   SOURCE_URL  repository URL for the OCI source label (optional)
#   PUSH        "true" pushes; "false" builds only (pull requests)
#   CACHE       "true" uses and fills the layer cache repository CACHE_REPO
#   CACHE_REPO  default: $REGISTRY/techcommerce/cache
#   INSECURE_REGISTRY  "true" for a registry that speaks plain HTTP or has an untrusted
#               certificate (a local kind registry): pushes and the layer cache use it anyway
#               (kaniko --insecure --skip-tls-verify); "false" (default) insists on verified HTTPS
#   SOURCE_DIR  the checkout; build context is SOURCE_DIR/services
#   PIP_INDEX_URL  Python package index for the image's pip install (the Dockerfile's build
#               argument PIP_INDEX_URL); empty (default): pip's own default index
#   SERVICE_BASE_IMAGE  the Dockerfile's build argument BASE_IMAGE, pinned by tag or digest (never
#               latest); empty (default): the Dockerfile's own pinned default
#   EXECUTOR    kaniko executor (default /kaniko/executor)
#   DIGEST_FILE where kaniko writes the digest (default /tmp/kaniko-digest)
#   DOCKER_CONFIG_BOUND, DOCKER_CONFIG_DIR  the optional docker-config workspace (config.json with
#               registry credentials): when bound, kaniko reads DOCKER_CONFIG from it
#   RESULT_IMAGE_URL, RESULT_IMAGE_DIGEST, RESULT_IMAGE_REF   result files (optional)
set -eu

: "${SERVICE:?SERVICE is required}"
: "${REGISTRY:?REGISTRY is required}"
: "${COMMIT:?COMMIT is required}"
BRANCH=${BRANCH:-}
PUSH=${PUSH:-true}
CACHE=${CACHE:-true}
INSECURE_REGISTRY=${INSECURE_REGISTRY:-false}
SOURCE_DIR=${SOURCE_DIR:-.}
EXECUTOR=${EXECUTOR:-/kaniko/executor}
DIGEST_FILE=${DIGEST_FILE:-/tmp/kaniko-digest}

case "$SERVICE" in
  product-api | order-api | frontend) ;;
  *)
    echo "kaniko-build: unknown service '$SERVICE'" >&2
    exit 2
    ;;
esac
case "$COMMIT" in
  *[!0-9a-f]* | '')
    echo "kaniko-build: COMMIT must be a hex commit SHA, got '$COMMIT'" >&2
    exit 2
    ;;
esac
case "$INSECURE_REGISTRY" in
  true | false) ;;
  *)
    echo "kaniko-build: INSECURE_REGISTRY must be true or false, got '$INSECURE_REGISTRY'" >&2
    exit 2
    ;;
esac
SERVICE_BASE_IMAGE=${SERVICE_BASE_IMAGE:-}
case "${SERVICE_BASE_IMAGE##*/}" in
  '' | *@sha256:*) ;;
  *:latest | *:) base_pinned=false ;;
  *:*) ;;
  *) base_pinned=false ;;
esac
if [ "${base_pinned:-true}" = false ]; then
  echo "kaniko-build: SERVICE_BASE_IMAGE must be pinned by tag or digest, got '$SERVICE_BASE_IMAGE'" >&2
  exit 2
fi
REGISTRY=${REGISTRY%/}
CACHE_REPO=${CACHE_REPO:-$REGISTRY/techcommerce/cache}

if [ "${DOCKER_CONFIG_BOUND:-false}" = true ]; then
  export DOCKER_CONFIG="$DOCKER_CONFIG_DIR"
  if [ ! -f "$DOCKER_CONFIG_DIR/config.json" ]; then
    echo "kaniko-build: warning: the docker-config workspace has no config.json, so kaniko" \
      "pushes without credentials; bind the registry Secret with its .dockerconfigjson key" \
      "mapped to config.json (items, or tkn's item=.dockerconfigjson=config.json)" >&2
  fi
fi

package=$(printf '%s' "$SERVICE" | tr '-' '_')
repo="$REGISTRY/techcommerce/$SERVICE"
# A tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: replace anything else, trim the start, cut at 128.
branch_tag=$(printf '%s' "$BRANCH" | tr -c 'A-Za-z0-9_.-' '-' | sed 's/^[.-]*//' | cut -c1-128)

set -- \
  "--context=dir://$SOURCE_DIR/services" \
  "--dockerfile=$SOURCE_DIR/services/Dockerfile" \
  "--build-arg=SERVICE=$package" \
  "--destination=$repo:$COMMIT"
[ -z "$branch_tag" ] || set -- "$@" "--destination=$repo:$branch_tag"
set -- "$@" \
  "--label=org.opencontainers.image.revision=$COMMIT" \
  "--label=org.opencontainers.image.title=techcommerce-$SERVICE" \
  "--digest-file=$DIGEST_FILE" \
  --reproducible \
  --snapshot-mode=redo
[ -z "${SOURCE_URL:-}" ] || set -- "$@" "--label=org.opencontainers.image.source=$SOURCE_URL"
[ -z "${PIP_INDEX_URL:-}" ] || set -- "$@" "--build-arg=PIP_INDEX_URL=$PIP_INDEX_URL"
[ -z "$SERVICE_BASE_IMAGE" ] || set -- "$@" "--build-arg=BASE_IMAGE=$SERVICE_BASE_IMAGE"
if [ "$CACHE" = true ]; then
  set -- "$@" --cache=true "--cache-repo=$CACHE_REPO" --cache-ttl=168h
fi
if [ "$PUSH" != true ]; then
  set -- "$@" --no-push
fi
if [ "$INSECURE_REGISTRY" = true ]; then
  set -- "$@" --insecure --skip-tls-verify
fi

echo "kaniko-build: $EXECUTOR $*"
"$EXECUTOR" "$@"

digest=""
[ ! -s "$DIGEST_FILE" ] || digest=$(cat "$DIGEST_FILE")
if [ "$PUSH" = true ]; then
  case "$digest" in
    sha256:????????????????????????????????????????????????????????????????) ;;
    *)
      echo "kaniko-build: pushed, but no valid digest in $DIGEST_FILE ('$digest')" >&2
      exit 1
      ;;
  esac
  ref="$repo@$digest"
else
  ref=""
fi
echo "kaniko-build: IMAGE_URL=$repo:$COMMIT IMAGE_DIGEST=$digest"
[ -z "${RESULT_IMAGE_URL:-}" ] || printf '%s' "$repo:$COMMIT" >"$RESULT_IMAGE_URL"
[ -z "${RESULT_IMAGE_DIGEST:-}" ] || printf '%s' "$digest" >"$RESULT_IMAGE_DIGEST"
[ -z "${RESULT_IMAGE_REF:-}" ] || printf '%s' "$ref" >"$RESULT_IMAGE_REF"
