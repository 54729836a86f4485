# shellcheck shell=bash
# Sourced by the image scripts: point podman/buildah at this project's settings and store.
_containers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF="$_containers_dir/containers.conf"
export CONTAINERS_STORAGE_CONF="$_containers_dir/storage.conf"
unset _containers_dir
