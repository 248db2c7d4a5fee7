#!/usr/bin/env bash
# Remove the mood-kiosk service installed by scripts/install.sh.
#
#   sudo bash scripts/uninstall.sh           stop and remove the service, code and units;
#                                            keep /etc/kiosk (config) and /var/lib/kiosk (music)
#   sudo bash scripts/uninstall.sh --purge   also remove config, music and the kiosk user
#
# --root DIR (or DESTDIR=DIR) works on a tree made by install.sh --root. Safe to re-run.
set -euo pipefail

ROOT="${DESTDIR:-}"
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) ROOT="${1#--root=}"; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$ROOT" ]; then
  ROOT="$(cd "$ROOT" && pwd)"
  [ "$ROOT" = "/" ] && ROOT=""
fi
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  echo "uninstall.sh: run as root, or use --root DIR" >&2
  exit 2
fi
log() { echo "uninstall: $*" >&2; }

if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now kiosk.service >/dev/null 2>&1 || true
  # Running imports are stopped first so none is left writing into /var/lib/kiosk.
  systemctl stop 'kiosk-import@*.service' >/dev/null 2>&1 || true
fi
for f in /etc/systemd/system/kiosk.service /etc/systemd/system/kiosk-import@.service \
  /etc/udev/rules.d/99-kiosk-usb.rules; do
  if [ -e "$ROOT$f" ]; then rm -f "$ROOT$f"; log "removed $f"; fi
done
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  command -v udevadm >/dev/null && udevadm control --reload || true
fi
if [ -e "$ROOT/opt/kiosk" ]; then rm -rf "$ROOT/opt/kiosk"; log "removed /opt/kiosk"; fi

if [ "$PURGE" -eq 1 ]; then
  rm -rf "$ROOT/etc/kiosk" "$ROOT/var/lib/kiosk"
  log "removed /etc/kiosk and /var/lib/kiosk (--purge)"
  if [ -z "$ROOT" ] && id kiosk >/dev/null 2>&1; then
    userdel kiosk && log "removed user kiosk"
  fi
else
  log "kept /etc/kiosk (config) and /var/lib/kiosk (music); --purge removes them"
fi
