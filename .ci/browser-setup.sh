#!/usr/bin/env bash
# CI: Debian's Chromium for tests/test_browser.py (headless, driven by the playwright package;
# `playwright install` would download its own browser build, which this project never does).
#
# Installs `chromium` (and a font) with apt-get when /usr/bin/chromium is missing, then checks
# that it starts headless. Exit 0 also where it cannot be installed (no apt-get, not root): the
# reason is printed and tests/test_browser.py then skips with its own reason. Any other failure
# exits non-zero.
set -uo pipefail

say() { echo "browser-setup: $*" >&2; }
PACKAGES=(chromium fonts-liberation)
LOG=/tmp/tastemap-chromium-apt.log

if ! command -v chromium >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        say "SKIP: must run as root to apt-get install ${PACKAGES[*]} (uid $(id -u))"; exit 0
    fi
    if ! command -v apt-get >/dev/null; then
        say "SKIP: apt-get not available: cannot install ${PACKAGES[*]}"; exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    say "installing ${PACKAGES[*]} with apt-get"
    if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >"$LOG" 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        apt-get update >>"$LOG" 2>&1 || true
        if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$LOG" 2>&1; then
            tail -n 20 "$LOG" >&2
            say "ERROR: apt-get install ${PACKAGES[*]} failed (full log $LOG)"; exit 1
        fi
    fi
fi
# the flags tests/test_browser.py uses (root in a container: no sandbox, no GPU)
if ! timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d)" --dump-dom about:blank >/dev/null 2>>"$LOG"; then
    tail -n 20 "$LOG" >&2
    say "ERROR: chromium is installed but does not start headless (log $LOG)"; exit 1
fi
say "$(chromium --version 2>/dev/null) ready"
