#!/usr/bin/env bash
# System packages the tests need besides the browser: Debian's PostgreSQL server, which the
# store tests start in a temporary folder (tests/pgserver.py). Nothing to do when initdb exists.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
# the tests run their own throwaway cluster as the postgres user; Debian's default one is not used
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
