# shellcheck shell=sh
# Shared by the Python steps (python-test.sh, bandit.sh). They source it as a file here; in a Task
# tekton/scripts/embed.py writes it in their place, so the Task still carries its whole script.

# enter_checkout: create REPORT_DIR and make it absolute, then cd to SOURCE_DIR.
enter_checkout() {
  mkdir -p "$REPORT_DIR"
  REPORT_DIR=$(cd "$REPORT_DIR" && pwd)
  cd "$SOURCE_DIR" || exit
}

# install_venv PIP_ARGS...: a virtualenv in VENV (default /tmp/venv) with PIP_ARGS installed, from
# the package index PIP_INDEX_URL (pip reads it from the environment); empty or unset: pip's own
# default index. pip ignores a plain-HTTP index unless its host is trusted: an http:// URL is taken
# as an index inside the cluster and its host:port trusted (PIP_TRUSTED_HOST).
install_venv() {
  VENV=${VENV:-/tmp/venv}
  if [ -n "${PIP_INDEX_URL:-}" ]; then
    export PIP_INDEX_URL
    case $PIP_INDEX_URL in
      http://*)
        PIP_TRUSTED_HOST=${PIP_INDEX_URL#http://}
        export PIP_TRUSTED_HOST="${PIP_TRUSTED_HOST%%/*}"
        ;;
    esac
    echo "pip: installing from PIP_INDEX_URL (the pip-index-url param)"
  else
    unset PIP_INDEX_URL
  fi
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "$@"
}
