#!/usr/bin/env bash
# llama.cpp for the offline CPU engine (chatbot/models/llamacpp.py) and its OpenAI-compatible server
# (tests/test_llamacpp.py). PyPI has only the source, so pip compiles it: about 5 minutes on 2 cores,
# once (pip keeps the built wheel). On x86-64 the build targets AVX2 instead of the build machine's
# own CPU: a native build crashed on a CPU with AVX-512 and AMX, and AVX2 runs on both kinds.
# Without it the app still runs: the offline engine falls back to transformers fp32.
set -euo pipefail
PIP="${1:-.venv/bin/pip}"
if [ "$(uname -m)" = "x86_64" ]; then
    export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF}"
fi
if ! command -v c++ >/dev/null 2>&1; then   # the compiler; cmake comes from PyPI in pip's build env
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi
"$PIP" install -q "llama-cpp-python[server]==0.3.36"
