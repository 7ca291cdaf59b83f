#!/usr/bin/env bash
# llama.cpp's own llama-server (continuous batching over --parallel slots, per-slot prompt cache,
# an OpenAI-compatible API), the `--engine llama-server` sidecar (chatbot/models/sidecar.py).
# It is built from the llama.cpp that the llama-cpp-python sdist vendors, the version
# install_llamacpp.sh compiles, with the same CPU flags (llamacpp_flags.sh); only the server
# target, statically linked, about 6 minutes on 2 cores, once per CPU kind: the binary is kept in
# $CHATBOT_WHEELS/llama-server-VERSION-VARIANT/ and the app finds it there (or at
# $CHATBOT_LLAMA_SERVER). Without it the app still runs: --engine auto keeps llama.cpp in-process.
set -euo pipefail
PIP="${1:-.venv/bin/pip}"
source "$(dirname "$0")/llamacpp_flags.sh"
DEST="$CHATBOT_WHEELS/llama-server-$LLAMACPP_VERSION-$VARIANT"
if [ -x "$DEST/llama-server" ]; then exit 0; fi
need=""
command -v c++ >/dev/null 2>&1 || need="$need g++"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
if [ -n "$need" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SDIST="$CHATBOT_WHEELS/sdist"
if ! ls "$SDIST"/llama_cpp_python-$LLAMACPP_VERSION.tar.gz >/dev/null 2>&1; then
    "$PIP" download -q --no-deps --no-binary llama-cpp-python -d "$SDIST" "llama-cpp-python==$LLAMACPP_VERSION"
fi
echo "compiling llama-server from llama-cpp-python $LLAMACPP_VERSION's llama.cpp ($VARIANT, about 6 minutes on 2 cores, once)"
tar -xzf "$SDIST/llama_cpp_python-$LLAMACPP_VERSION.tar.gz" -C "$WORK"
SRC="$WORK/llama_cpp_python-$LLAMACPP_VERSION/vendor/llama.cpp"
# shellcheck disable=SC2086  # FLAGS is a list of cmake arguments
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_TOOLS=ON $FLAGS >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/build" --target llama-server -j"${CHATBOT_BUILD_JOBS:-2}" >"$WORK/build.log" 2>&1 \
    || { tail -50 "$WORK/build.log"; exit 1; }
mkdir -p "$DEST.tmp"
cp "$WORK/build/bin/llama-server" "$DEST.tmp/"
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
echo "llama-server in $DEST"
