#!/usr/bin/env bash
# Build the TechCommerce service images with podman from services/Dockerfile (context services/).
#
# Usage: hack/images/build-images.sh [SERVICE...]     SERVICE: product_api | order_api | frontend
#   Without arguments it builds every service package that exists (a services/<pkg>/__main__.py).
#   Images: localhost/techcommerce/<product-api|order-api|frontend>:${TAG:-dev}; sizes printed last.
#
# Base image: BASE_IMAGE if set (e.g. the Dockerfile's official default on a machine that reaches a
# registry); otherwise the local Debian bookworm + python3.11 image from
# hack/images/make-base-image.sh, made once and reused, because no container registry is reachable
# here.
# Settings for this machine (runc, cgroupfs, vfs, chroot isolation): hack/images/containers/.
# --format docker keeps HEALTHCHECK (the OCI image format has no field for it).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=containers/env.sh source-path=SCRIPTDIR
source hack/images/containers/env.sh

TAG=${TAG:-dev}
KNOWN=(product_api order_api frontend)

if [ $# -gt 0 ]; then
  services=("$@")
else
  services=()
  for pkg in "${KNOWN[@]}"; do
    [ -f "services/$pkg/__main__.py" ] && services+=("$pkg")
  done
fi
[ ${#services[@]} -gt 0 ] || { echo "build-images: no service package found" >&2; exit 1; }

base=${BASE_IMAGE:-$(hack/images/make-base-image.sh | tail -n1)}

# A TLS-intercepting network needs the machine's CA bundle inside the build (pip downloads the
# dependencies); it is passed as a build secret, so it never lands in an image layer.
secret=()
cert=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$cert" ] && secret=(--secret "id=pip_cert,src=$cert")

images=()
for service in "${services[@]}"; do
  image="localhost/techcommerce/${service//_/-}:$TAG"
  echo "build-images: $image (SERVICE=$service, BASE_IMAGE=$base)" >&2
  podman build --quiet --format docker --isolation chroot --layers \
    "${secret[@]}" \
    --build-arg "BASE_IMAGE=$base" --build-arg "SERVICE=$service" \
    --tag "$image" --file services/Dockerfile services >/dev/null
  images+=("$image")
done

# Build layers that nothing tagged uses and that are older than a day go: with the vfs driver
# every layer is a full copy, and the store would otherwise grow with every code change.
podman image prune --force --filter until=24h >/dev/null

echo "build-images: sizes" >&2
for image in "${images[@]}"; do
  podman image inspect --format '{{.Size}}' "$image" |
    awk -v image="$image" '{ printf "%-45s %6.1f MB\n", image, $1 / 1000000 }'
done
