"""Entry point (also the Hugging Face Spaces app_file): flags -> config -> UI -> launch.

    python app.py                      # profile auto: hub if reachable/cached, else offline
    python app.py --profile tiny       # random tiny models (tests)
    python app.py --server-url http://127.0.0.1:8000/v1 --model NAME   # vLLM/TGI/llama.cpp/Ollama

Every flag has an environment variable (CHATBOT_<FLAG>) for Spaces settings.
"""

from __future__ import annotations

import argparse
import os
import signal

# first: on a ZeroGPU Space, `spaces` must come before torch touches CUDA
import chatbot.gpu  # noqa: F401
from chatbot.config import DEFAULT_PORT, MAX_NEW_TOKENS, MAX_QUEUE, PROFILES, data_dir


def env(name: str, default=None):
    """The environment variable of a flag (CHATBOT_<FLAG>): Spaces settings set them."""
    return os.environ.get(f"CHATBOT_{name.upper()}", default)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Multimodal chatbot: photos, PDFs and tables in; answers and pictures out."
    )
    p.add_argument("--profile", choices=PROFILES, default=env("profile", "auto"))
    p.add_argument(
        "--model", default=env("model"), help="hub id, local folder or .gguf file of the LLM"
    )
    p.add_argument(
        "--server-url",
        default=env("server_url"),
        help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1",
    )
    p.add_argument(
        "--generator", default=env("generator"), help="diffusers text-to-image id or path"
    )
    p.add_argument(
        "--device", default=env("device", "auto"), choices=["auto", "cpu", "cuda", "mps"]
    )
    p.add_argument(
        "--dtype", default=env("dtype", "auto"), choices=["auto", "float32", "bfloat16", "float16"]
    )
    p.add_argument(
        "--asr-model", default=env("asr_model"), help="faster-whisper id or folder for speech"
    )
    p.add_argument(
        "--vision-model",
        default=env("vision_model"),
        help="CLIP/SigLIP for labels and photo search: clip, siglip, an id or a folder",
    )
    p.add_argument(
        "--engine",
        default=env("engine", "auto"),
        choices=["auto", "int8", "fp32", "llama.cpp", "llama-server"],
        help="CPU engine (auto: llama.cpp for a GGUF text LM, int8 vision encoder for a VLM; "
        "llama-server: llama.cpp's server started by the app, several chats in one batch; "
        "see profiles._engine)",
    )
    p.add_argument(
        "--slots",
        type=int,
        default=int(env("slots", 0)) or None,
        help="--engine llama-server: conversations decoded in one batch (default "
        "LLAMA_SERVER_SLOTS)",
    )
    p.add_argument("--quantize", default=env("quantize"), choices=[None, "4bit", "8bit"])
    p.add_argument("--max-image-side", type=int, default=env("max_image_side"))
    p.add_argument(
        "--image-splitting", choices=["auto", "on", "off"], default=env("image_splitting", "auto")
    )
    p.add_argument("--max-new-tokens", type=int, default=int(env("max_new_tokens", MAX_NEW_TOKENS)))
    p.add_argument(
        "--min-new-tokens",
        type=int,
        default=int(env("min_new_tokens", 0)),
        help="replies of at least this many tokens (tests and benchmarks: a fixed length)",
    )
    p.add_argument("--temperature", type=float, default=float(env("temperature", 0.0)))
    p.add_argument(
        "--data-dir",
        default=env("data_dir", str(data_dir())),
        help="conversations and their files: SQLite database + file store",
    )
    p.add_argument(
        "--database-url",
        default=env("database_url"),
        help="postgresql+psycopg://user:password@host/db for several app processes "
        "(default: SQLite)",
    )
    p.add_argument(
        "--retention-days",
        type=float,
        default=float(env("retention_days", 0)),
        help="delete conversations idle this many days, at start (default 0: keep them)",
    )
    p.add_argument(
        "--auth",
        default=env("auth"),
        help="users file, one 'name:password' a line: "
        "sign-in required, each user's conversations follow them to any browser",
    )
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument(
        "--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", DEFAULT_PORT))
    )
    return p.parse_args(argv)


def read_users(path: str) -> list[tuple[str, str]]:
    """The --auth file: one `name:password` a line; blank lines and # comments are skipped."""
    lines = [
        ln.strip()
        for ln in open(path, encoding="utf-8")
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    users = [tuple(ln.split(":", 1)) for ln in lines if ":" in ln]
    if not users or len(users) != len(lines):
        raise SystemExit(f"--auth {path}: write one 'name:password' a line")
    return users


def make_app(args: argparse.Namespace):
    from chatbot.history import History, open_store
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config
    from chatbot.ui import I18N, build_ui

    cfg = build_config(
        args.profile,
        model=args.model,
        server_url=args.server_url,
        generator=args.generator,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        database_url=args.database_url,
        retention_days=args.retention_days,
        asr_model=args.asr_model,
        vision_model=args.vision_model,
        slots=args.slots,
        device=args.device,
        engine=args.engine,
        dtype=args.dtype,
        quantize=args.quantize,
        max_image_side=int(args.max_image_side) if args.max_image_side else None,
        image_splitting={"on": True, "off": False}.get(args.image_splitting),
        max_new_tokens=args.max_new_tokens,
        min_new_tokens=args.min_new_tokens,
        temperature=args.temperature,
    )
    store, problem = open_store(cfg)
    if problem:
        print(problem, flush=True)  # the app stays up, in memory; the header says the same
    pipeline = Pipeline(cfg, history=History(store, problem))
    return build_ui(pipeline), pipeline, I18N


def main(argv=None) -> None:
    from chatbot.cleanup import start_janitor
    from chatbot.generator import OUTPUT_DIR
    from chatbot.ingest.photozip import UNPACK_DIR
    from chatbot.stages.cite import THUMBNAIL_DIR
    from chatbot.stages.listen import FRAME_DIR
    from chatbot.ui import launch_options
    from chatbot.voice_out import SPEECH_DIR

    args = parse_args(argv)
    demo, pipeline, i18n = make_app(args)

    def on_sigterm(signum, frame):  # a service manager, a test's terminate(): the engine's own
        pipeline.close()  # process (the llama-server sidecar) is stopped by its pid, then the
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # app ends as SIGTERM always ended it
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    print(f"profile {pipeline.cfg.profile}: {pipeline.cfg.profile_reason}", flush=True)
    # files are served to their owner only (chatbot/ui/files.py): the store's from the store
    # a bounded queue: beyond MAX_QUEUE waiting requests Gradio answers "queue is full" at once
    demo.queue(default_concurrency_limit=1, max_size=MAX_QUEUE).launch(
        server_name=args.host,
        server_port=args.port,
        i18n=i18n,
        prevent_thread_lock=True,
        show_error=True,
        auth=read_users(args.auth) if args.auth else None,
        **launch_options(demo),
    )
    pipeline.start()  # load in the background once the page is served (torch imports slowly)
    # files outside the store do not pile up
    start_janitor([OUTPUT_DIR, THUMBNAIL_DIR, FRAME_DIR, SPEECH_DIR, UNPACK_DIR])
    try:
        demo.block_thread()
    finally:
        pipeline.close()


if __name__ == "__main__":
    main()
