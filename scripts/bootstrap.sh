#!/usr/bin/env bash
# One entry point for a fresh Debian / Raspberry Pi OS / Jetson checkout.
#   bash scripts/bootstrap.sh run    install what the kiosk needs, then run it on the demo
#   bash scripts/bootstrap.sh test   install what the tests need, then lint and test
# Idempotent: re-running skips what is already there. Needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"; shift || true

APT_RUN=(python3 python3-venv python3-pip libvlc5 libvlc-bin vlc-plugin-base)
APT_TEST=(mosquitto sox systemd openssl chromium)

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "bootstrap: apt-get not found; install these yourself: ${missing[*]}" >&2
    return 0
  fi
  echo "bootstrap: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd apt-get update -qq
  sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# On a Pi, the camera stack comes from apt; the venv sees it via --system-site-packages.
if grep -qi "raspberry pi" /proc/device-tree/model 2>/dev/null; then APT_RUN+=(python3-picamera2); fi

make_venv() {
  local extras="$1"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv --system-site-packages .venv
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]"
}

case "$mode" in
  run)
    apt_install "${APT_RUN[@]}"
    make_venv ""
    exec .venv/bin/kiosk run "$@"
    ;;
  test)
    apt_install "${APT_RUN[@]}" "${APT_TEST[@]}"
    make_venv "dev"
    .venv/bin/python -m ruff check kiosk tests scripts
    .venv/bin/python -m ruff format --check kiosk tests scripts
    set +e
    .venv/bin/python -m pytest "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "bootstrap: pytest collected no tests: failing" >&2; exit 1; fi
    exit "$rc"
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh run|test [args...]" >&2; exit 2 ;;
esac
