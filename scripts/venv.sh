# shellcheck shell=bash
# pinned_venv TAG VENV NAME==VERSION...: a Python venv at VENV holding these pinned
# packages from PyPI; installs them when any is missing or at another version, does
# nothing otherwise. Sourced by the install scripts of the servers the tests run against.
pinned_venv() {
  local tag=$1 venv=$2
  shift 2
  local want="$*" have
  have=$("$venv/bin/python" -c 'import sys, importlib.metadata as m
print(" ".join(n + "==" + m.version(n) for n in (r.split("==")[0] for r in sys.argv[1:])))' "$@" 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    command -v python3 >/dev/null || { echo "[$tag] python3 is needed for $want" >&2; return 1; }
    echo "[$tag] installing $want into $venv" >&2
    mkdir -p "$(dirname "$venv")"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
  fi
}
