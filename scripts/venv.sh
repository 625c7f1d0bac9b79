#!/usr/bin/env bash
# ensure_venv DIR PACKAGE...: a Python venv at DIR holding exactly the pinned
# PACKAGEs, (re)installed only when the list changed. Sourced by
# scripts/test-env.sh and scripts/infra-env.sh.
ensure_venv() {
  local dir="$1"; shift
  local stamp="$dir/.posture-requirements" want="$*"
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing $want into $dir" >&2
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$want" > "$stamp"
  fi
}
