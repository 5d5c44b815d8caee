#!/usr/bin/env bash
# CI: Debian's Chromium for tests/test_browser.py (headless, driven by the playwright package;
# `playwright install` would download its own browser build, which this project never does).
# The tests never install it; without it they skip, saying to run this script.
#
#   .ci/browser-setup.sh            install `chromium` (and a font) with apt-get when
#                                   /usr/bin/chromium is missing, then check that it starts
#                                   headless
#   .ci/browser-setup.sh teardown   purge the packages that install added, if (and only if) this
#                                   script installed them (recorded in
#                                   /var/lib/tastemap-ci/browser-installed)
#
# Exit 0 also where it cannot be installed (no apt-get, not root): the reason is printed and
# tests/test_browser.py then skips with its own reason. Any other failure exits non-zero.
set -uo pipefail

say() { echo "browser-setup: $*" >&2; }
PACKAGES=(chromium fonts-liberation)
LOG=/tmp/tastemap-chromium-apt.log
STATE=/var/lib/tastemap-ci
INSTALLED=$STATE/browser-installed

source "$(dirname "$0")/recorded-packages.sh"
apt_log() { DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$LOG" 2>&1; }

teardown() {
    if [[ -s $INSTALLED && $(id -u) -ne 0 ]]; then
        say "must run as root to purge what $INSTALLED lists"; return 1
    fi
    purge_recorded "$INSTALLED" apt_log || { tail -n 20 "$LOG" >&2; return 1; }
    rm -f "$LOG"
    rmdir "$STATE" 2>/dev/null || true
    say "teardown done"
}

case ${1:-start} in
    start) ;;
    teardown) teardown; exit ;;
    *) echo "usage: $0 [start|teardown]" >&2; exit 2 ;;
esac

if ! command -v chromium >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        say "SKIP: must run as root to apt-get install ${PACKAGES[*]} (uid $(id -u))"; exit 0
    fi
    if ! command -v apt-get >/dev/null; then
        say "SKIP: apt-get not available: cannot install ${PACKAGES[*]}"; exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    say "installing ${PACKAGES[*]} with apt-get"
    mkdir -p "$STATE"
    before=$(installed_packages)
    rc=0
    : >"$LOG"
    if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$LOG" 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        apt-get update >>"$LOG" 2>&1 || true
        apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$LOG" 2>&1 || rc=$?
    fi
    record_added "$before" "$INSTALLED"
    if [[ $rc -ne 0 ]]; then
        tail -n 20 "$LOG" >&2
        say "ERROR: apt-get install ${PACKAGES[*]} failed (full log $LOG)"; exit 1
    fi
fi
# the flags tests/test_browser.py uses (root in a container: no sandbox, no GPU)
profile=$(mktemp -d)
if ! HOME=$profile timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --dump-dom about:blank >/dev/null 2>>"$LOG"; then
    rm -rf "$profile"
    tail -n 20 "$LOG" >&2
    say "ERROR: chromium is installed but does not start headless (log $LOG)"; exit 1
fi
rm -rf "$profile"
say "$(chromium --version 2>/dev/null) ready"
