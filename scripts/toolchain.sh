# Shared by scripts/*: where the Python 3.14 toolchain lives and how to run in it.
# Sourced, not executed.
#
# Two kinds of toolchain:
#   native  a python3.14 (>= 3.14.2) on PATH or provided by uv; venv in .venv/
#   rootfs  a Debian sid root filesystem (Debian/Ubuntu hosts, as root) with its
#           own python3.14; venv at /opt/venv inside it. Commands run in a private
#           mount namespace, so no mount outlives them (see ../shared/TOOLCHAIN.md).

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_FILE="$PROJECT_DIR/.toolchain"
# The root lives outside the project so that cleaning the checkout can never
# delete through a bind mount, and so that checkouts on one machine share it.
ROOTFS_DIR="${CLOUD_SPEECH_ROOTFS:-/var/cache/cloud-speech/rootfs}"
ROOTFS_VENV=/opt/venv
# The latest Home Assistant release (named in requirements_latest.txt) lives in
# a venv of its own: its pins conflict with the test plugin's 2026.10 ones.
ROOTFS_LATEST_VENV=/opt/venv-latest
NATIVE_LATEST_VENV="$PROJECT_DIR/.venv/latest"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# retry N CMD...: network steps hiccup now and then.
retry() {
  local attempts=$1 n=1
  shift
  until "$@"; do
    if ((n >= attempts)); then
      log "failed after $attempts attempts: $*"
      return 1
    fi
    log "attempt $n failed, retrying in $((n * 5)) s: $*"
    sleep $((n * 5))
    n=$((n + 1))
  done
}

toolchain_kind() {
  [[ -f "$TOOLCHAIN_FILE" ]] || {
    echo "No toolchain yet: run scripts/setup first." >&2
    return 1
  }
  cat "$TOOLCHAIN_FILE"
}

# The latest release's venv as commands inside the toolchain see it.
latest_venv() {
  if [[ "$(toolchain_kind)" == native ]]; then
    echo "$NATIVE_LATEST_VENV"
  else
    echo "$ROOTFS_LATEST_VENV"
  fi
}

# The same venv as seen from this host (for stamps and files).
latest_venv_on_host() {
  if [[ "$(toolchain_kind)" == native ]]; then
    echo "$NATIVE_LATEST_VENV"
  else
    echo "$ROOTFS_DIR$ROOTFS_LATEST_VENV"
  fi
}

# The latest Home Assistant version, as requirements_latest.txt pins it.
latest_ha_version() {
  sed -n 's/^homeassistant==\([^ ]*\).*/\1/p' "$PROJECT_DIR/requirements_latest.txt"
}

# in_toolchain CMD...: run CMD with the project's venv first on PATH, from the
# project directory. Extra environment goes through `env` in CMD.
in_toolchain() {
  local kind
  kind="$(toolchain_kind)" || return 1
  if [[ "$kind" == native ]]; then
    (cd "$PROJECT_DIR" && PATH="$PROJECT_DIR/.venv/bin:$PATH" "$@")
    return
  fi
  # The project is bind-mounted at its own path inside the root, so paths in
  # tracebacks and coverage reports match the host's.
  mkdir -p "$ROOTFS_DIR$PROJECT_DIR"
  local quoted
  quoted="$(printf '%q ' "$@")"
  unshare --mount --propagation private -- /bin/sh -ec '
    root=$1 project=$2 venv=$3 command=$4
    mount --bind /proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --bind "$project" "$root$project"
    exec chroot "$root" /usr/bin/env -u PIP_FIND_LINKS \
      PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      HOME=/root LANG=C.UTF-8 \
      /bin/bash -c "cd \"$project\" && $command"
  ' sh "$ROOTFS_DIR" "$PROJECT_DIR" "$ROOTFS_VENV" "$quoted"
}
