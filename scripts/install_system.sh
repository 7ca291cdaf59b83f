#!/usr/bin/env bash
# System packages the tests need besides the browser, installed only where missing:
#   postgresql  Debian's server, which the store tests start in a temporary folder (tests/pgserver.py);
#               Debian's default cluster is not used
#   espeak-ng   speaks the English and Korean test sentences for the speech tests (tests/mediafixtures.py)
set -euo pipefail
need=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
fi
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
