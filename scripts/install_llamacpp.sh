#!/usr/bin/env bash
# llama.cpp for the offline CPU engine (chatbot/models/llamacpp.py) and its OpenAI-compatible server
# (tests/test_llamacpp.py). PyPI has only the source, so it is compiled: about 5 minutes on 2 cores,
# once per CPU kind (the wheel is kept in $CHATBOT_WHEELS, one folder per build variant, because
# pip's own cache would hand a wheel built with other flags back). The CPU flags (AVX-512 VNNI
# where /proc/cpuinfo shows it, else AVX2, never the native build) are llamacpp_flags.sh's, shared
# with install_llama_server.sh.
# Without llama.cpp the app still runs: the offline engine falls back to transformers fp32.
set -euo pipefail
PIP="${1:-.venv/bin/pip}"
source "$(dirname "$0")/llamacpp_flags.sh"   # FLAGS, VARIANT, LLAMACPP_VERSION, CHATBOT_WHEELS
VERSION=$LLAMACPP_VERSION
if [ -n "$FLAGS" ]; then export CMAKE_ARGS="${CMAKE_ARGS:-$FLAGS}"; fi
WHEELS="$CHATBOT_WHEELS/llama-cpp-python-$VERSION-$VARIANT"
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    if ! command -v c++ >/dev/null 2>&1; then   # the compiler; cmake comes from PyPI in pip's build env
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
    fi
    echo "compiling llama-cpp-python $VERSION ($VARIANT build, about 5 minutes on 2 cores, once)"
    rm -rf "$WHEELS.tmp"
    "$PIP" wheel -q --no-deps --no-cache-dir -w "$WHEELS.tmp" "llama-cpp-python==$VERSION"
    mv "$WHEELS.tmp" "$WHEELS"
fi
"$PIP" install -q --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
"$PIP" install -q "llama-cpp-python[server]==$VERSION"   # the server's own dependencies
