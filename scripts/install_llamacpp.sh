#!/usr/bin/env bash
# llama.cpp for the offline CPU engine (chatbot/models/llamacpp.py) and its OpenAI-compatible server
# (tests/test_llamacpp.py). PyPI has only the source, so it is compiled: about 5 minutes on 2 cores,
# once per CPU kind (the wheel is kept in $CHATBOT_WHEELS, one folder per build variant, because
# pip's own cache would hand a wheel built with other flags back). On x86-64 the flags are chosen
# from /proc/cpuinfo instead of GGML_NATIVE (a native build crashed on a CPU with AVX-512):
# AVX-512 with VNNI where the CPU has it (prefill 1.5x faster than the AVX2 build), else AVX2.
# Without llama.cpp the app still runs: the offline engine falls back to transformers fp32.
set -euo pipefail
PIP="${1:-.venv/bin/pip}"
VERSION=0.3.36
VARIANT=default
if [ "$(uname -m)" = "x86_64" ]; then
    has() { grep -qw "$1" /proc/cpuinfo; }
    FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    VARIANT=avx2
    if has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512_vnni; then
        FLAGS="$FLAGS -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON"
        VARIANT=avx512-vnni
        if has avx512vbmi; then FLAGS="$FLAGS -DGGML_AVX512_VBMI=ON"; VARIANT="$VARIANT-vbmi"; fi
        if has avx512_bf16; then FLAGS="$FLAGS -DGGML_AVX512_BF16=ON"; VARIANT="$VARIANT-bf16"; fi
    else
        FLAGS="$FLAGS -DGGML_AVX512=OFF"
    fi
    export CMAKE_ARGS="${CMAKE_ARGS:-$FLAGS}"
fi
WHEELS="${CHATBOT_WHEELS:-$HOME/.cache/multimodal-chatbot-wheels}/llama-cpp-python-$VERSION-$VARIANT"
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
