#!/usr/bin/env bash
# Generate the Secrets of an environment, once, where every generated secret lives: .cluster/
# (gitignored) of the checkout that holds the overlay. For manifests/overlays/ENV it writes
# .cluster/secrets/ENV/ (mode 0700), with fresh random values in
#   postgres.env              POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB
#                             (postgres, the migrate Job: the migrator)
#   product-api-database.env  PRODUCT_API_DB_PASSWORD (product-api, migrate)
#   order-api-database.env    ORDER_API_DB_PASSWORD   (order-api, migrate)
#   order-api-token.env       ORDER_API_TOKEN  (frontend sends it; order-api checks it as
#                             ORDER_API_SERVICE_TOKEN)
#   admin-token.env           ADMIN_TOKEN      (product-api, order-api)
#   frontend-session.env      SESSION_SECRET   (frontend)
# and kustomization.yaml: a kustomize Component holding only the secretGenerator that turns
# those files into the Secrets of the same names (postgres.env -> postgres-credentials).
# manifests/deploy/ENV composes the overlay with this Component, so a deploy applies both in
# one build and each Secret's name carries the hash of its content (manifests/README.md).
#
# Usage: hack/gen-secrets.sh manifests/overlays/staging [more overlays...]
# An existing env file is never overwritten (re-running is safe; the values must stay stable,
# because PostgreSQL keeps the password it was initialised with); a missing one is added.
# kustomization.yaml is rewritten every time (it holds no secret). Env files left in the old
# location (OVERLAY/secrets/) are moved here, values kept. Values are hex, so DATABASE_URL needs
# no escaping.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 OVERLAY_DIR..." >&2; exit 2; }

# Secret name -> env file: the only list of the Secrets the manifests expect.
SECRETS=(
  postgres-credentials:postgres.env
  product-api-database:product-api-database.env
  order-api-database:order-api-database.env
  order-api-token:order-api-token.env
  admin-token:admin-token.env
  frontend-session:frontend-session.env
)

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

write_once() {
  local file=$1 content=$2
  if [ -e "$file" ]; then
    echo "gen-secrets: keeping $file" >&2
    return
  fi
  (umask 077 && printf '%s\n' "$content" >"$file")
  echo "gen-secrets: wrote $file" >&2
}

# random_values FILE: the content of a new env file.
random_values() {
  case $1 in
    postgres.env)
      printf 'POSTGRES_USER=techcommerce\nPOSTGRES_PASSWORD=%s\nPOSTGRES_DB=techcommerce' "$(random_hex 24)" ;;
    product-api-database.env) echo "PRODUCT_API_DB_PASSWORD=$(random_hex 24)" ;;
    order-api-database.env) echo "ORDER_API_DB_PASSWORD=$(random_hex 24)" ;;
    order-api-token.env) echo "ORDER_API_TOKEN=$(random_hex 24)" ;;
    admin-token.env) echo "ADMIN_TOKEN=$(random_hex 24)" ;;
    frontend-session.env) echo "SESSION_SECRET=$(random_hex 32)" ;;
    *) echo "gen-secrets: no values defined for $1" >&2; return 1 ;;
  esac
}

# component ENV: the Component that generates the Secrets from the env files beside it.
component() {
  local entry
  echo "# Written by hack/gen-secrets.sh (rewritten on every run; the values are in the .env files)."
  echo "# The Secrets of $1, composed with the overlay by manifests/deploy/$1."
  echo "apiVersion: kustomize.config.k8s.io/v1alpha1"
  echo "kind: Component"
  echo "generatorOptions:"
  echo "  labels:"
  echo "    app.kubernetes.io/part-of: techcommerce"
  echo "    app.kubernetes.io/environment: $1"
  echo "secretGenerator:"
  for entry in "${SECRETS[@]}"; do
    echo "  - name: ${entry%%:*}"
    echo "    envs: [${entry#*:}]"
  done
}

for overlay in "$@"; do
  overlay=${overlay%/}
  [ -f "$overlay/kustomization.yaml" ] || { echo "gen-secrets: $overlay is not an overlay" >&2; exit 2; }
  if [ "$(basename "$(dirname "$overlay")")" != overlays ] ||
    [ "$(basename "$(cd "$overlay/../.." && pwd)")" != manifests ]; then
    echo "gen-secrets: $overlay is not manifests/overlays/ENV" >&2
    exit 2
  fi
  env=$(basename "$overlay")
  root=$(cd "$overlay/../../.." && pwd)
  dir=$root/.cluster/secrets/$env
  (umask 077 && mkdir -p "$dir")
  chmod 0700 "$root/.cluster" "$root/.cluster/secrets" "$dir"
  for old in "$overlay"/secrets/*.env; do
    [ -f "$old" ] || continue
    if [ -e "$dir/$(basename "$old")" ]; then
      echo "gen-secrets: $dir/$(basename "$old") exists, so $old is not used: remove it" >&2
    else
      mv "$old" "$dir/"
      echo "gen-secrets: moved $old to $dir/ (the one place for generated secrets)" >&2
    fi
  done
  rmdir "$overlay/secrets" 2>/dev/null || true
  for entry in "${SECRETS[@]}"; do
    write_once "$dir/${entry#*:}" "$(random_values "${entry#*:}")"
  done
  component "$env" >"$dir/kustomization.yaml"
  echo "gen-secrets: wrote $dir/kustomization.yaml" >&2
done
