#!/usr/bin/env bash
# Install mood-kiosk as a systemd service on Raspberry Pi OS (Bookworm), Debian 12 or a
# Jetson (Ubuntu-based L4T). Run from a checkout, as root:
#
#   sudo bash scripts/install.sh              install or update, enable and (re)start
#
# Safe to re-run: it updates the code, models, units and udev rule, and keeps an existing
# /etc/kiosk/config.yaml and the music under /var/lib/kiosk. The one edit an update makes
# to the config: the emotion-model line that older versions of this script wrote (the old
# fer_emotion_quantized.tflite) is removed, so the kiosk uses the package's default model
# (models/emotion_cnn_real_int8.tflite since issue 24); a model the config names otherwise
# stays, the previous default emotion_cnn_int8.tflite included.
#
# Options:
#   --root DIR     install into DIR instead of / (a throwaway tree: no apt, no user, no
#                  systemctl; CI uses this). DESTDIR=DIR works too.
#   --no-apt       do not install apt packages
#   --no-enable    install the units but do not enable or start the service
#   --offline      install only the kiosk package into the venv, no dependency downloads
#                  (dependencies must already be in the venv or the system's site-packages)
#   --python EXE   python used to create the venv (default: python3)
#   --build-python EXE
#                  with --offline: python that builds the kiosk wheel (default: the venv's);
#                  it needs setuptools >= 70.1 or the wheel package, which a fresh venv's
#                  bundled setuptools may lack
set -euo pipefail

ROOT="${DESTDIR:-}"
APT=1
ENABLE=1
OFFLINE=0
PYTHON=python3
BUILD_PYTHON=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) ROOT="${1#--root=}"; shift ;;
    --no-apt) APT=0; shift ;;
    --no-enable) ENABLE=0; shift ;;
    --offline) OFFLINE=1; shift ;;
    --python) PYTHON="${2:?--python needs an executable}"; shift 2 ;;
    --build-python) BUILD_PYTHON="${2:?--build-python needs an executable}"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

SRC="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT="$(cd "$ROOT" && pwd)"
  [ "$ROOT" = "/" ] && ROOT=""
fi
OPT=/opt/kiosk
ETC=/etc/kiosk
STATE=/var/lib/kiosk
UNITDIR=/etc/systemd/system
UDEVDIR=/etc/udev/rules.d
USER_NAME=kiosk

log() { echo "install: $*" >&2; }
skip() { log "skipped: $* (--root)"; }

if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo bash scripts/install.sh), or use --root DIR" >&2
  exit 2
fi

platform=debian
if grep -qi "raspberry pi" /proc/device-tree/model 2>/dev/null; then
  platform=pi
elif [ -e /etc/nv_tegra_release ] || grep -qi "jetson\|nvidia" /proc/device-tree/model 2>/dev/null; then
  platform=jetson
fi
log "platform: $platform, source: $SRC, root: ${ROOT:-/}"

# --- apt ---------------------------------------------------------------------------------
APT_PKGS=(python3 python3-venv python3-pip libvlc5 libvlc-bin vlc-plugin-base alsa-utils util-linux)
[ "$platform" = pi ] && APT_PKGS+=(python3-picamera2)
if [ -n "$ROOT" ]; then
  skip "apt-get install ${APT_PKGS[*]}"
elif [ "$APT" -eq 0 ]; then
  log "skipped: apt-get install ${APT_PKGS[*]} (--no-apt)"
else
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "apt packages already installed"
  fi
fi

# --- user --------------------------------------------------------------------------------
if [ -n "$ROOT" ]; then
  skip "create system user $USER_NAME in groups video audio render"
else
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    log "creating system user $USER_NAME"
    useradd --system --user-group --home-dir "$STATE" --no-create-home \
      --shell /usr/sbin/nologin --comment "mood kiosk" "$USER_NAME"
  fi
  for g in video audio render; do
    # The unit names all three in SupplementaryGroups=; a missing one would stop it starting.
    getent group "$g" >/dev/null || { groupadd --system "$g" && log "created group $g"; }
    if ! id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx "$g"; then
      usermod -aG "$g" "$USER_NAME"
      log "added $USER_NAME to group $g"
    fi
  done
fi

# --- files -------------------------------------------------------------------------------
# Copy only when the content differs, so a re-run reports (and restarts for) real changes.
CHANGED=0
put() { # put MODE SRC DEST
  local mode="$1" src="$2" dest="$ROOT$3"
  mkdir -p "$(dirname "$dest")"
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    chmod "$mode" "$dest"
    return 0
  fi
  install -m "$mode" "$src" "$dest.new"
  mv -f "$dest.new" "$dest"
  CHANGED=1
  log "wrote $3"
}

mkdir -p "$ROOT$OPT/models" "$ROOT$ETC" "$ROOT$STATE/library"
for m in "$SRC"/models/*.tflite "$SRC"/models/*.json; do
  [ -e "$m" ] && put 0644 "$m" "$OPT/models/$(basename "$m")"
done
put 0644 "$SRC/README.md" "$OPT/README.md"
put 0644 "$SRC/systemd/kiosk.service" "$UNITDIR/kiosk.service"
put 0644 "$SRC/systemd/kiosk-import@.service" "$UNITDIR/kiosk-import@.service"
put 0644 "$SRC/systemd/99-kiosk-usb.rules" "$UDEVDIR/99-kiosk-usb.rules"

# --- venv --------------------------------------------------------------------------------
VENV="$ROOT$OPT/venv"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $OPT/venv (--system-site-packages: apt's picamera2 stays visible)"
  "$PYTHON" -m venv --system-site-packages "$VENV"
fi
pip_args=(-q --disable-pip-version-check --no-warn-script-location)
[ "$OFFLINE" -eq 1 ] && pip_args+=(--no-deps --no-index --no-build-isolation)
log "installing the kiosk package into $OPT/venv"
# Build from a copy: pip must not leave build/ or egg-info in the checkout.
build="$(mktemp -d)"
wheels="$(mktemp -d)"
trap 'rm -rf "$build" "$wheels"' EXIT
# Only what the package is built from (a checkout may hold large training runs).
pkg_files=(pyproject.toml README.md kiosk)
for f in setup.cfg setup.py MANIFEST.in LICENSE; do [ -e "$SRC/$f" ] && pkg_files+=("$f"); done
tar -C "$SRC" --exclude='__pycache__' --exclude='*.egg-info' -cf - "${pkg_files[@]}" \
  | tar -C "$build" -xf -
if [ "$OFFLINE" -eq 1 ]; then
  # No index to fetch a build backend from: build the wheel with a Python that has one,
  # then install the finished wheel, which needs no backend.
  "${BUILD_PYTHON:-$VENV/bin/python}" -m pip wheel -q --disable-pip-version-check --no-deps \
    --no-index --no-build-isolation -w "$wheels" "$build"
  "$VENV/bin/python" -m pip install "${pip_args[@]}" --upgrade "$wheels"/*.whl
else
  "$VENV/bin/python" -m pip install "${pip_args[@]}" --upgrade "$build"
fi
# From / so that a checkout in the current directory cannot stand in for the installed
# package; kiosk.config needs the main dependencies (pydantic, pyyaml).
if ! err="$(cd / && "$VENV/bin/python" -c "import kiosk.config" 2>&1)"; then
  echo "install.sh: kiosk does not import in $OPT/venv: ${err##*$'\n'}" >&2
  [ "$OFFLINE" -eq 1 ] && echo "install.sh: --offline installs only the kiosk package;" \
    "its dependencies must already be in the venv or the system's site-packages" \
    "(pip install them into $OPT/venv, or run without --offline)" >&2
  exit 1
fi

# --- config ------------------------------------------------------------------------------
# A Pi uses its camera module; elsewhere the first V4L2 camera (a Jetson CSI camera needs a
# GStreamer pipeline in camera.source instead: see the README).
if [ "$platform" = pi ]; then camera="backend: picamera2"; else camera="backend: opencv
  source: 0"; fi
CONFIG="$ROOT$ETC/config.yaml"
if [ -e "$CONFIG" ]; then
  # Older versions of this script pinned the weaker fer model; move such installs onto
  # the package default. Only that exact installer-written line goes.
  # A pin the user re-adds after that stays (the note it leaves marks the file as done).
  # Exit codes: 0 removed, 3 nothing to do, other: could not (the config stays as it was).
  set +e
  "$VENV/bin/python" - "$CONFIG" "$OPT/models/fer_emotion_quantized.tflite" <<'PYEOF'
import os, re, sys, yaml
path, old = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    text = f.read()
data = yaml.safe_load(text)
vision = data.get("vision") if isinstance(data, dict) else None
classifier = vision.get("classifier") if isinstance(vision, dict) else None
if not isinstance(classifier, dict) or classifier != {"model": old}:
    sys.exit(3)  # no pin, or a model (or more) the user chose
block = re.compile(
    r"^  classifier:[ \t]*\n    model:[ \t]*(['\"]?)" + re.escape(old) + r"\1[ \t]*\n", re.M
)
if "removed by scripts/install.sh" in text or len(block.findall(text)) != 1:
    sys.exit(3)  # not the layout this script wrote: leave it to the user
note = (
    "  # classifier.model: removed by scripts/install.sh (it pinned the old\n"
    "  # fer_emotion_quantized.tflite); the package default model is used.\n"
)
new = block.sub(lambda _m: note, text)
# The edit must remove exactly the pin: everything else parses as before.
expected = {**data, "vision": {k: v for k, v in vision.items() if k != "classifier"}}
got = yaml.safe_load(new)
if {**got, "vision": got.get("vision") or {}} != expected:
    sys.exit(4)
tmp = path + ".new"
with open(tmp, "w", encoding="utf-8") as f:
    f.write(new)
os.chmod(tmp, os.stat(path).st_mode & 0o777)
os.replace(tmp, path)
PYEOF
  rc=$?
  set -e
  case "$rc" in
    0) log "updated $ETC/config.yaml: removed the old emotion model pin (fer_emotion_quantized); the kiosk now uses the package default" ;;
    3) ;;
    *) log "WARNING: could not update the emotion model line in $ETC/config.yaml (left as it was)" ;;
  esac
  log "kept existing $ETC/config.yaml"
else
  cat >"$CONFIG.new" <<EOF
# mood-kiosk config written by scripts/install.sh. Every key is optional; the full list
# with defaults and explanations: /opt/kiosk/venv/bin/kiosk config example
# Check it with: kiosk config validate $ETC/config.yaml   and then: kiosk check
camera:
  $camera
# vision.detector.model and vision.classifier.model: left to the package defaults, which
# resolve to $OPT/models/ (updates bring better models). Name a file here to pin one.
music:
  root: $STATE/music
player:
  # A system service cannot reach PulseAudio/PipeWire: play straight to ALSA.
  # Pick the card with alsa_device (list: aplay -L), e.g. plughw:CARD=Headphones
  aout: alsa
service:
  state_dir: $STATE
mqtt:
  enabled: false
  outbox_path: $STATE/mqtt-outbox.sqlite
usb_import:
  library_dir: $STATE/library
EOF
  mv "$CONFIG.new" "$CONFIG"
  log "wrote $ETC/config.yaml (camera: ${camera%%$'\n'*}; MQTT off)"
fi
chmod 0640 "$CONFIG"
mkdir -p "$ROOT$STATE/music"

if [ -n "$ROOT" ]; then
  skip "chown $USER_NAME $STATE, chgrp $USER_NAME $ETC"
else
  chown root:"$USER_NAME" "$ETC" "$CONFIG"
  chmod 0750 "$ETC"
  chown -R "$USER_NAME:$USER_NAME" "$STATE"
  chmod 0750 "$STATE"
fi
if ! "$VENV/bin/kiosk" config validate "$CONFIG" >/dev/null 2>&1; then
  log "WARNING: $ETC/config.yaml does not validate:"
  "$VENV/bin/kiosk" config validate "$CONFIG" >&2 || true
else
  # Which emotion model the service will run: the package default unless the config names
  # one (an update can change the default; a model the config names stays). From /: the
  # installed package, not the checkout this script runs from.
  model=$(cd / && "$VENV/bin/python" -c 'import sys
from kiosk.config import load_config
c = load_config(sys.argv[1])
print(c.resolve(c.config.vision.classifier.model))' "$CONFIG" 2>/dev/null) &&
    log "emotion model: ${model#"$ROOT"}" || true
fi

# --- systemd and udev --------------------------------------------------------------------
if [ -n "$ROOT" ]; then
  skip "systemctl daemon-reload, udevadm control --reload, systemctl enable --now kiosk"
elif [ ! -d /run/systemd/system ]; then
  log "systemd is not running here: units installed, not enabled"
else
  systemctl daemon-reload
  command -v udevadm >/dev/null && udevadm control --reload || true
  if [ "$ENABLE" -eq 1 ]; then
    systemctl enable kiosk.service >/dev/null 2>&1
    # restart, not start: a re-run after a code update must load the new code.
    systemctl restart kiosk.service
    log "kiosk.service enabled and (re)started; logs: journalctl -u kiosk -f"
  else
    log "skipped: systemctl enable (--no-enable)"
  fi
fi
[ "$CHANGED" -eq 1 ] || log "units, models and docs were already up to date"
log "done. Next: edit $ETC/config.yaml if needed, then run: $OPT/venv/bin/kiosk check"
