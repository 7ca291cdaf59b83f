#!/usr/bin/env bash
# Debian Chromium for the browser test (never `playwright install`: it downloads its own browser),
# plus CJK and emoji fonts so screenshots show Korean text and the chain's icons.
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji >/dev/null
