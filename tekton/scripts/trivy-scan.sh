#!/bin/sh
# Scan with trivy and block on HIGH/CRITICAL findings.
#
#   trivy-scan.sh fs                  the source tree: vulnerabilities, secrets, misconfigurations
#   trivy-scan.sh image REF [REF...]  pushed images, each REF must be NAME@sha256:DIGEST
#
# Inputs (environment):
#   SOURCE_DIR      the checkout (fs mode scans it; the ignore file is read from it)
#   REPORT_DIR      where trivy-fs.json / trivy-image-<name>.json are written
#   IGNORE_FILE     accepted findings, relative to SOURCE_DIR (default: tekton/.trivyignore.yaml)
#   SEVERITY        severities that fail the scan (default: HIGH,CRITICAL)
#   IGNORE_UNFIXED  "true" to skip vulnerabilities without a fixed version (default: false)
#   TRIVY           the trivy command (default: trivy)
#   TRIVY_CACHE_DIR vulnerability DB cache (trivy reads it from the environment itself)
#   DOCKER_CONFIG_BOUND, DOCKER_CONFIG_DIR  optional registry credentials for image mode
#   INSECURE_REGISTRY  "true" lets trivy pull images and its database from a plain-HTTP or
#                   untrusted-TLS registry (trivy --insecure; a local kind registry); default "false"
#   DB_REPOSITORY   OCI repository of the vulnerability database, e.g. a mirror inside the cluster
#                   (REGISTRY/trivy-db:2); default empty: trivy's own repositories
#   SKIP_CHECK_UPDATE  "true": the misconfiguration checks built into this trivy, none downloaded
#                   (a cluster that reaches no checks bundle); default "false"
# Every scan runs even if an earlier one failed; the exit status is 1 when any scan found a
# blocking finding, 2 on a usage error.
set -eu

SOURCE_DIR=${SOURCE_DIR:-.}
: "${REPORT_DIR:?REPORT_DIR is required}"
IGNORE_FILE=${IGNORE_FILE:-tekton/.trivyignore.yaml}
SEVERITY=${SEVERITY:-HIGH,CRITICAL}
IGNORE_UNFIXED=${IGNORE_UNFIXED:-false}
TRIVY=${TRIVY:-trivy}
# trivy sends anonymous usage data and fetches version notices unless told not to: neither here.
TRIVY_DISABLE_TELEMETRY=${TRIVY_DISABLE_TELEMETRY:-true}
TRIVY_SKIP_VERSION_CHECK=${TRIVY_SKIP_VERSION_CHECK:-true}
export TRIVY_DISABLE_TELEMETRY TRIVY_SKIP_VERSION_CHECK
INSECURE_REGISTRY=${INSECURE_REGISTRY:-false}
case "$INSECURE_REGISTRY" in
  true | false) ;;
  *)
    echo "trivy-scan: INSECURE_REGISTRY must be true or false, got '$INSECURE_REGISTRY'" >&2
    exit 2
    ;;
esac
DB_REPOSITORY=${DB_REPOSITORY:-}
case "$DB_REPOSITORY" in
  *[!A-Za-z0-9./:@_-]*)
    echo "trivy-scan: DB_REPOSITORY must be an OCI repository reference, got '$DB_REPOSITORY'" >&2
    exit 2
    ;;
esac
SKIP_CHECK_UPDATE=${SKIP_CHECK_UPDATE:-false}
case "$SKIP_CHECK_UPDATE" in
  true | false) ;;
  *)
    echo "trivy-scan: SKIP_CHECK_UPDATE must be true or false, got '$SKIP_CHECK_UPDATE'" >&2
    exit 2
    ;;
esac

if [ "${DOCKER_CONFIG_BOUND:-false}" = true ]; then
  export DOCKER_CONFIG="$DOCKER_CONFIG_DIR"
fi

usage() {
  echo "usage: trivy-scan.sh fs | trivy-scan.sh image NAME@sha256:DIGEST..." >&2
  exit 2
}
[ $# -ge 1 ] || usage
mode=$1
shift

mkdir -p "$REPORT_DIR"
REPORT_DIR=$(cd "$REPORT_DIR" && pwd)
SOURCE_DIR=$(cd "$SOURCE_DIR" && pwd)

common="--severity $SEVERITY --exit-code 1 --no-progress --format json"
if [ -f "$SOURCE_DIR/$IGNORE_FILE" ]; then
  common="$common --ignorefile $SOURCE_DIR/$IGNORE_FILE"
else
  echo "trivy-scan: no ignore file at $IGNORE_FILE: nothing is accepted" >&2
fi
[ "$IGNORE_UNFIXED" != true ] || common="$common --ignore-unfixed"
[ -z "$DB_REPOSITORY" ] || common="$common --db-repository $DB_REPOSITORY"
[ "$SKIP_CHECK_UPDATE" != true ] || common="$common --skip-check-update"
[ "$INSECURE_REGISTRY" != true ] || common="$common --insecure"

failed=0
# scan REPORT TARGET-ARGS...: run one scan, print the table, remember a failure
scan() {
  report=$1
  shift
  # shellcheck disable=SC2086 # $common is a list of options built above from checked values
  if "$TRIVY" "$@" $common --output "$report"; then
    rc=0
  else
    rc=$?
  fi
  if [ -f "$report" ]; then
    "$TRIVY" convert --format table "$report" || true
  fi
  case "$rc" in
    0) echo "trivy-scan: $report: no blocking finding" ;;
    1)
      echo "trivy-scan: $report: $SEVERITY findings: FAILED" >&2
      failed=1
      ;;
    *)
      echo "trivy-scan: trivy exited $rc" >&2
      failed=1
      ;;
  esac
}

case "$mode" in
  fs)
    [ $# -eq 0 ] || usage
    scan "$REPORT_DIR/trivy-fs.json" fs --scanners vuln,secret,misconfig "$SOURCE_DIR"
    ;;
  image)
    [ $# -ge 1 ] || {
      echo "trivy-scan: no image given" >&2
      usage
    }
    for ref in "$@"; do
      case "$ref" in
        *@sha256:????????????????????????????????????????????????????????????????) ;;
        *)
          echo "trivy-scan: '$ref' is not pinned by digest (NAME@sha256:...)" >&2
          exit 2
          ;;
      esac
      name=${ref%@*}
      name=${name##*/}
      scan "$REPORT_DIR/trivy-image-$name.json" image --scanners vuln,secret "$ref"
    done
    ;;
  *) usage ;;
esac
exit "$failed"
