#!/usr/bin/env bash
# Debian packages the browser tests need: headless Chromium (driven by
# Playwright via executable_path=/usr/bin/chromium) and Noto fonts so Arabic
# and Latin text render the same everywhere; the shared libraries PyQt6's wheels
# load (EGL/GL, xkbcommon, fontconfig, freetype, D-Bus, GLib, CUPS) so the kiosk's
# tests run on Qt's offscreen platform on a bare Debian; the xcb libraries Qt's xcb
# platform plugin loads (`ldd` on PyQt6/Qt6/plugins/platforms/libqxcb.so and
# Qt6/lib/libQt6XcbQpa.so.6: without libxcb-cursor0 and the others a kiosk terminal
# refuses to start with "could not load the Qt platform plugin xcb"), and Xvfb, the
# X server the kiosk's xcb test starts; espeak-ng, the speech engine
# pyttsx3 drives to render the IVR prompts offline (its Arabic voice included); and
# Dovecot's IMAP server, which the e-mail tests start as their own throwaway instance
# (never the system service); util-linux's unshare, with which the lease tests start a
# process in a pid namespace of its own (as a container would look); and PgBouncer, which
# .ci/postgres.sh start-pgbouncer runs as a throwaway instance in transaction mode before
# the test cluster (the Debian package enables a system service on port 6432 where
# services start on install: `systemctl disable --now pgbouncer` if it is not wanted).
#
# Idempotent and quick when everything is present: only dpkg-query/command -v
# are consulted; apt-get (update + install) runs only when something is missing,
# and only as root. Otherwise a note is printed and the script exits 0.
# Usage: bash scripts/system-deps.sh          everything the tests need (make test)
#        bash scripts/system-deps.sh kiosk    only what a kiosk terminal needs
set -euo pipefail

# What a kiosk terminal itself needs (`bash scripts/system-deps.sh kiosk` installs only
# these): the Qt libraries PyQt6's wheels load and the xcb ones its xcb platform plugin
# loads, plus the Noto fonts.
KIOSK_PACKAGES=(fonts-noto-core fonts-noto-ui-core
  libegl1 libgl1 libxkbcommon0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libcups2
  libxcb1 libx11-6 libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0
  libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1)
if [ "${1:-}" = kiosk ]; then
  PACKAGES=("${KIOSK_PACKAGES[@]}")
else
  PACKAGES=(chromium espeak-ng dovecot-imapd xvfb util-linux pgbouncer "${KIOSK_PACKAGES[@]}")
fi
LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"

note() { printf 'system-deps: %s\n' "$*" >&2; }

is_installed() {
  local pkg="$1"
  if command -v dpkg-query >/dev/null 2>&1; then
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] || return 1
  elif [ "$pkg" != chromium ]; then
    return 0 # not a dpkg system: cannot check fonts, assume they are there
  fi
  if [ "$pkg" = chromium ]; then
    command -v chromium >/dev/null 2>&1 || return 1
  fi
  if [ "$pkg" = util-linux ]; then
    command -v unshare >/dev/null 2>&1 || return 1
  fi
  return 0
}

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || printf '%s\n' "$pkg"
  done
}

# Wait while another apt/dpkg (e.g. a background install) holds its locks.
# apt takes fcntl locks, which show up in /proc/locks by inode.
wait_for_apt_locks() {
  local waited=0 lock inode busy
  while :; do
    busy=
    for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock; do
      [ -e "$lock" ] || continue
      inode=$(stat -c %i "$lock" 2>/dev/null) || continue
      if grep -qE "[0-9a-f]+:[0-9a-f]+:${inode} " /proc/locks 2>/dev/null; then
        busy=$lock
        break
      fi
    done
    [ -z "$busy" ] && return 0
    if [ "$waited" -ge "$LOCK_TIMEOUT" ]; then
      note "apt lock $busy still held after ${LOCK_TIMEOUT}s; trying anyway"
      return 0
    fi
    [ "$waited" -eq 0 ] && note "waiting for another apt/dpkg to finish ($busy is locked)..."
    sleep 3
    waited=$((waited + 3))
  done
}

apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_TIMEOUT" "$@"
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system-deps: ok (${PACKAGES[*]})"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  note "missing: ${missing[*]}"
  note "not root or no apt-get, so not installing them; browser tests may fail or skip."
  note "install with: sudo apt-get install -y ${missing[*]}"
  # A laptop may run the rest; CI must not pass on tests that skipped their peers.
  [ "${CI:-}" = true ] && { note "CI=true: failing instead"; exit 1; }
  exit 0
fi

# Something may be installing right now; let it finish and look again.
wait_for_apt_locks
mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system-deps: ok (${PACKAGES[*]})"
  exit 0
fi

note "installing: ${missing[*]}"
# `apt-get update` locks the lists dir, which DPkg::Lock::Timeout does not cover: retry.
for attempt in 1 2 3 4 5; do
  if apt_get update -qq; then break; fi
  [ "$attempt" -eq 5 ] && { note "apt-get update failed"; exit 1; }
  wait_for_apt_locks
  sleep 5
done
apt_get install -y -qq --no-install-recommends "${missing[@]}"

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -ne 0 ]; then
  note "still missing after install: ${missing[*]}"
  exit 1
fi
echo "system-deps: ok (${PACKAGES[*]})"
