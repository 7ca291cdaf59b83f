# Sourced by install_llamacpp.sh and install_llama_server.sh: the CPU flags for llama.cpp, one
# decision for both builds. On x86-64 they are chosen from /proc/cpuinfo instead of GGML_NATIVE
# (a native build crashed on a CPU with AVX-512): AVX-512 with VNNI where the CPU has it (prefill
# 1.5x faster than the AVX2 build), else AVX2. Sets FLAGS (cmake arguments) and VARIANT (the
# cache folder's suffix, so a build made for another CPU kind is never reused).
LLAMACPP_VERSION=0.3.36
VARIANT=default
FLAGS=""
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
fi
CHATBOT_WHEELS="${CHATBOT_WHEELS:-$HOME/.cache/multimodal-chatbot-wheels}"
