#!/usr/bin/env bash
# Set up everything the local stack and the tests need; safe to run again (does only what is missing):
#   1. Debian packages for the daemons (NATS, Redis, Prometheus, Alertmanager, Redis exporter),
#      the tools the specification's scripts use (jq, curl), chromium (the test that renders
#      `atctl verify`'s HTML report), chromium-driver (Selenium's chromedriver: the dashboards'
#      browser tests, the specification's test_dashboard_visuals.py, `atctl dashboards screenshot`)
#      and iptables + iproute2 (`atctl chaos`: kernel-level network faults, DROP and NAT rules on
#      one program's connections, `ss -K`),
#      installed without starting Debian's own services on the default ports;
#   2. .venv with the project installed editable, with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(nats-server redis-server prometheus prometheus-alertmanager prometheus-redis-exporter jq curl openssl chromium chromium-driver iptables iproute2)
# More for one purpose, e.g. the benchmarks' peers: AT_BOOTSTRAP_EXTRA_PACKAGES="wrk nginx-light"
read -r -a EXTRA <<<"${AT_BOOTSTRAP_EXTRA_PACKAGES:-}"
PACKAGES+=("${EXTRA[@]}")
PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.bootstrap-installed"

if [ -t 1 ]; then BOLD=$'\033[1m' RED=$'\033[31m' RESET=$'\033[0m'; else BOLD="" RED="" RESET=""; fi
say() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
die() { printf '%sbootstrap failed:%s %s\n' "$RED" "$RESET" "$*" >&2; exit 1; }

# --- 1. Debian packages -------------------------------------------------------------------
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
else
  for binary in nats-server redis-server prometheus prometheus-alertmanager prometheus-redis-exporter jq curl openssl; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
  done
  if ((${#missing[@]})); then
    die "not a Debian system and these are missing: ${missing[*]}. Install them, then run this again."
  fi
fi

if ((${#missing[@]})); then
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "installing ${missing[*]} needs root: run as root or install sudo"
    SUDO=(sudo)
  fi
  policy=/usr/sbin/policy-rc.d
  backup=""
  restore_policy() {
    "${SUDO[@]}" rm -f "$policy"
    if [ -n "$backup" ]; then "${SUDO[@]}" mv "$backup" "$policy"; fi
  }
  if [ -e "$policy" ]; then
    backup="$policy.atctl-backup"
    "${SUDO[@]}" mv "$policy" "$backup"
  fi
  trap restore_policy EXIT
  # Exit 101 = "action forbidden": the packages' services are installed but not started,
  # so nothing takes the default ports (4222, 6379, 9090, …) behind atctl's back.
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  say "Updating the package lists (missing: ${missing[*]})"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || die "apt-get update failed (network? sources.list?)"
  say "Installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install ${missing[*]} failed (see above)"
  restore_policy
  trap - EXIT
  say "Installed ${missing[*]} (their Debian services were not started; atctl runs its own)"
else
  say "Debian packages present: ${PACKAGES[*]}"
fi

# --- 2. Python environment ----------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11+ (or set PYTHON=/path/to/python3)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON is $("$PYTHON" -V 2>&1); the project needs Python 3.11 or newer (set PYTHON=...)"
  say "Creating $VENV with $("$PYTHON" -V 2>&1)"
  "$PYTHON" -m venv "$VENV" || die "could not create $VENV (on Debian: apt-get install python3-venv)"
fi

if [ ! -e "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  say "Installing the project into $VENV (pip install -e '.[test]')"
  "$VENV/bin/python" -m pip install -q -e '.[test]' || die "pip install -e '.[test]' failed (see above)"
  touch "$STAMP"
else
  say "Python environment up to date ($VENV)"
fi

say "Ready: make up (stack with demo traffic), make test (test suite)"
