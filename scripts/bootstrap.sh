#!/usr/bin/env bash
# One entry point for a fresh Debian / Raspberry Pi OS / Jetson checkout.
#   bash scripts/bootstrap.sh run    install what the kiosk needs, then run it on the demo
#   bash scripts/bootstrap.sh test   install what the tests need, then lint and test
#   bash scripts/bootstrap.sh platforms   (root) the README's commands in fresh Debian 13 roots
# Idempotent: re-running skips what is already there. Needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"; shift || true

APT_RUN=(python3 python3-venv python3-pip libvlc5 libvlc-bin vlc-plugin-base ffmpeg libsndfile1)
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

# The distribution's own Python, the one a Pi or a Jetson has (and the one apt's picamera2 and
# JetPack's OpenCV are built for), even when another python3 comes first on PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

make_venv() {
  local extras="$1"
  if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys' 2>/dev/null; then
    echo "bootstrap: .venv is broken (its Python was removed or upgraded): making it anew" >&2
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv --system-site-packages .venv
  fi
  # pip 23 (Debian 12) rejects an empty extras list ".[]": name extras only when there are some.
  local target="."
  [ -n "$extras" ] && target=".[${extras}]"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target"
}

# pytest's exit 5 (no test collected) is a failure, not a pass.
run_pytest() {
  set +e
  .venv/bin/python -m pytest "$@"
  local rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then echo "bootstrap: pytest collected no tests: failing" >&2; exit 1; fi
  exit "$rc"
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
    run_pytest "$@"
    ;;
  platforms)
    # Fresh Debian 13 roots (amd64, arm64 under qemu) running the README's commands as a new
    # user: tests/platforms. Builds chroots, so it needs root; ~50 min on 2 cores.
    apt_install "${APT_RUN[@]}" "${APT_TEST[@]}" debootstrap
    make_venv "dev"
    run_pytest -m platform tests/platforms "$@"
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh run|test|platforms [args...]" >&2; exit 2 ;;
esac
