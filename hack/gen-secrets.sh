#!/usr/bin/env bash
# Create the secret env files an overlay's secretGenerator reads, with fresh random values:
#   OVERLAY/secrets/postgres.env              POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB
#                                             (postgres, the migrate Job: the migrator)
#   OVERLAY/secrets/product-api-database.env  PRODUCT_API_DB_PASSWORD (product-api, migrate)
#   OVERLAY/secrets/order-api-database.env    ORDER_API_DB_PASSWORD   (order-api, migrate)
#   OVERLAY/secrets/order-api-token.env       ORDER_API_TOKEN  (frontend sends it; order-api
#                                             checks it as ORDER_API_SERVICE_TOKEN)
#   OVERLAY/secrets/admin-token.env           ADMIN_TOKEN      (product-api, order-api)
#   OVERLAY/secrets/frontend-session.env      SESSION_SECRET   (frontend)
# Usage: hack/gen-secrets.sh manifests/overlays/staging [more overlays...]
# An existing file is never overwritten (re-running is safe; the values must stay stable, because
# PostgreSQL keeps the password it was initialised with). The files are mode 0600 and ignored by
# git (manifests/.gitignore). Values are hex, so DATABASE_URL needs no escaping.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 OVERLAY_DIR..." >&2; exit 2; }

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

for overlay in "$@"; do
  [ -f "$overlay/kustomization.yaml" ] || { echo "gen-secrets: $overlay is not an overlay" >&2; exit 2; }
  mkdir -p "$overlay/secrets"
  chmod 0700 "$overlay/secrets"
  write_once "$overlay/secrets/postgres.env" \
    "$(printf 'POSTGRES_USER=techcommerce\nPOSTGRES_PASSWORD=%s\nPOSTGRES_DB=techcommerce' "$(random_hex 24)")"
  write_once "$overlay/secrets/product-api-database.env" "PRODUCT_API_DB_PASSWORD=$(random_hex 24)"
  write_once "$overlay/secrets/order-api-database.env" "ORDER_API_DB_PASSWORD=$(random_hex 24)"
  write_once "$overlay/secrets/order-api-token.env" "ORDER_API_TOKEN=$(random_hex 24)"
  write_once "$overlay/secrets/admin-token.env" "ADMIN_TOKEN=$(random_hex 24)"
  write_once "$overlay/secrets/frontend-session.env" "SESSION_SECRET=$(random_hex 32)"
done
