#!/usr/bin/env bash
# Make the local base image for this machine: Debian bookworm (debootstrap minbase) with Debian's
# python3 (3.11) and python3-venv, imported into the project's podman store. Needed because no
# container registry is reachable here; elsewhere the Dockerfile's default base (the official slim
# Python 3.11 image) is used and this script is not needed.
#
# Usage: hack/images/make-base-image.sh [--force]      prints the image name on its last line
# Skips the work when the image already exists (a second run in the same CI run, or on the same
# machine, costs nothing). --force rebuilds it. Runs as root (debootstrap needs it).
# Not for production: it carries only bookworm's release packages (no security updates applied).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=containers/env.sh source-path=SCRIPTDIR
source hack/images/containers/env.sh

# The tag carries this script's hash: a changed recipe makes a new image instead of reusing one.
recipe=$(sha256sum hack/images/make-base-image.sh | cut -c1-12)
IMAGE=${BASE_IMAGE_NAME:-localhost/techcommerce/python-base:3.11-bookworm-$recipe}

if [ "${1:-}" != "--force" ] && podman image exists "$IMAGE"; then
  echo "$IMAGE"
  exit 0
fi

# The Debian mirror this machine already uses (deb822 "URIs:" with a bookworm suite, or a one-line
# "deb URI bookworm ..." entry). No host name is written into the repository.
mirror=$(
  awk '
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }
    $1 == "deb" && $3 == "bookworm" { print $2; exit }
  ' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1
)
if [ -z "$mirror" ]; then
  echo "make-base-image: no bookworm mirror found in /etc/apt/sources.list*" >&2
  exit 1
fi

rootfs=$(mktemp -d /var/tmp/techcommerce-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "make-base-image: debootstrap bookworm (minbase + python3) from the configured mirror" >&2
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$mirror" \
  >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# Trim what an image never needs: package lists and caches, docs, man pages, translations, logs;
# glibc's iconv modules (Python brings its own codecs); the stdlib's 2to3 and pydoc data; the
# stdlib byte-code (a read-only container compiles in memory; the service code is precompiled).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/log/* "$rootfs"/tmp/* \
  "$rootfs"/usr/lib/x86_64-linux-gnu/gconv "$rootfs"/usr/lib/python3.11/lib2to3 \
  "$rootfs"/usr/lib/python3.11/pydoc_data
find "$rootfs"/usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} +

chmod 0755 "$rootfs" # mktemp made it 0700: the image's / must be searchable by any user
tar --numeric-owner -C "$rootfs" -c . |
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo "$IMAGE"
