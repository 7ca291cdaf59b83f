"""Small dataclass configs for each stage, the model profiles, and named limits.

Limits are module-level constants so that error messages can quote them and
tests can import them instead of repeating numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the repository: prompts/, data/, assets/

# ---- named limits (quoted by the messages users see) -------------------------
MAX_MESSAGE_CHARS = 4000  # one chat message
MAX_FILE_MB = 20  # one uploaded file
MAX_FILES_PER_MESSAGE = 5  # images + documents in one message
MAX_ZIP_PHOTOS = 50  # photos in one uploaded .zip (a folder of holiday photos)
MAX_IMAGES_PER_CONVERSATION = 16  # images kept in context across turns
MAX_IMAGE_PIXELS = 40_000_000  # decompression-bomb guard (about 6300 x 6300)
MAX_IMAGE_SIDE_CPU = 384  # images are downscaled to this side before encoding on CPU
MAX_IMAGE_SIDE_GPU = 768
MAX_KEPT_IMAGE_SIDE = 1024  # photos are kept in memory at most this big (originals stay on disk)
TEMP_FILES_MAX_AGE_S = 24 * 3600  # uploads, drawn pictures and thumbnails outside the store
IDLE_CONVERSATION_S = 6 * 3600  # a session's conversation leaves memory after this idle time
# (the store keeps it: the sidebar or /open brings it back)
MAX_NEW_TOKENS = 512
MAX_HISTORY_CHARS = 12_000  # conversation text in the prompt; older turns are dropped beyond this
KV_CACHE_MB = 512  # KV prefix caches kept resident, least recently used evicted first
KV_CACHE_SESSIONS = 64  # ... and at most this many conversations' caches at once
# documents (PDF, CSV, XLSX)
MAX_PDF_PAGES = 500
MAX_TABLE_CELLS = 200_000  # one sheet or CSV
MAX_WORKBOOK_CELLS = 400_000  # all the sheets of one workbook together
MAX_CELL_CHARS = 2_000  # one cell's text; longer cells are cut (and the sheet says so)
MAX_TABLE_ROWS_PER_CHUNK = 40  # a table chunk never splits a row and repeats the header
WHOLE_DOCUMENT_CHARS = 6000  # documents smaller than this go whole into the context
RETRIEVAL_TOP_K = 4
INGEST_CACHE_DOCUMENTS = 32  # parsed documents kept in memory, keyed by sha256 of the bytes
OCR_DPI = 150  # scanned pages are rendered at this resolution for OCR
OCR_MIN_TEXT_CHARS = 8  # a page whose text layer is shorter than this counts as scanned
MAX_OCR_PAGES = 60  # scanned pages per PDF (OCR is the slowest step of a PDF; bench/RESULTS.md)
# A longer PDF answers its first question from its text layer (a few ms a page) and the tables
# of the pages retrieved; its other tables and scans are read after the answer (about 20 pages
# of tables take the first answer's 3 s: bench/bench_first_token.py)
TEXT_FIRST_PAGES = 20
CHUNK_CHARS = 800  # text chunk size for retrieval (all-MiniLM reads ~256 tokens)
CHUNK_OVERLAP_CHARS = 100
TABLE_CHUNK_CHARS = 2000  # a table chunk also ends before this size (whole rows only)
# find_tables without the layout model: the same recall on ruled tables, far faster
# (bench/bench_ingest.py; bench/RESULTS.md)
TABLE_USE_LAYOUT = False
# documents as people have them (Word, PowerPoint, web pages, Markdown, text, EPUB)
MAX_DOCUMENT_CHARS = (
    1_500_000  # text in one document (about 500 pages); more takes minutes to embed
)
MAX_SLIDES = 500  # slides in one presentation
MAX_UNZIPPED_MB = 200  # DOCX/PPTX/EPUB are zip archives: their unpacked size, checked first
SECTION_CHARS = 3000  # plain text without headings: paragraphs grouped into sections this big
MAX_SECTION_LABEL_CHARS = 60  # a heading quoted in a citation, [§ Installation], is cut to this
MAX_QUOTES = 3  # supporting sentences quoted under a reply (one per cited page)
MAX_QUOTE_CHARS = 300  # one quoted sentence; a longer one is cut at a word and ends in …
# image generation
MAX_GENERATION_STEPS = 50
MAX_GENERATION_SIDE = 1024
MIN_GENERATION_SIDE = 64  # smaller latents break the UNet's down-sampling
MAX_IMAGE_PROMPT_CHARS = 400  # CLIP reads 77 tokens; longer prompts are cut
MAX_SEED = 2**32 - 1  # seeds are 32-bit, as every diffusers UI writes them
DRAW_THRESHOLD = 0.6  # draw classifier probability at or above which a message asks for a
# picture; 5-fold CV on the training split (train_draw_classifier --cv)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
DOCUMENT_EXTENSIONS = (
    ".pdf",
    ".csv",
    ".xlsx",
    ".docx",
    ".pptx",
    ".html",
    ".htm",
    ".md",
    ".markdown",
    ".txt",
    ".epub",
)

PROFILES = ("auto", "hub", "offline", "tiny")

# Defaults per device; README explains the choice.
HUB_VLM_CPU = "HuggingFaceTB/SmolVLM-256M-Instruct"  # Idefics3, 256M params: usable on 2 CPU cores
HUB_VLM_GPU = "HuggingFaceTB/SmolVLM-Instruct"  # Idefics3, 2.2B: fits any 8 GB GPU in bf16
HUB_EMBEDDINGS = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
HUB_GENERATOR_CPU = "stabilityai/sd-turbo"  # 1-step distilled SD: the only CPU-bearable one
HUB_GENERATOR_GPU = "stabilityai/sdxl-turbo"

DEFAULT_PORT = 7860  # Gradio's


def cache_dir() -> Path:
    """Models built or converted here (tiny test models, the Q8_0 GGUF, Whisper joined from its
    two packages): CHATBOT_CACHE, read when a config is built (never at import)."""
    default = Path.home() / ".cache" / "multimodal-chatbot"
    return Path(os.environ.get("CHATBOT_CACHE", default))


def data_dir() -> Path:
    """Conversations and their files (SQLite database + content-addressed file store):
    CHATBOT_DATA_DIR, else the user's data folder; --data-dir overrides both."""
    default = Path.home() / ".local" / "share" / "multimodal-chatbot"
    return Path(os.environ.get("CHATBOT_DATA_DIR", default))


MAX_REPLY_WITHOUT_PAGE_S = 600.0  # a reply whose page went away is stopped after this long
SAVE_PARTIAL_S = 2.0  # a streaming reply's text is saved this often (crash recovery)
STREAM_UPDATE_S = 0.05  # while tokens stream, the UI and API get at most 20 updates a second
STREAM_UPDATES_PER_S = 40  # ... and the app sends at most about this many across all streams
# (with 20 replies streaming each gets 2 a second: every update costs the app a diff and a send,
# on the cores the engine decodes with)


# ---- the conversation store (chatbot/store): messages quote these names -------------------
MAX_CONVERSATIONS_PER_OWNER = 500  # conversations one owner may keep
MAX_STORED_MB_PER_OWNER = 500  # photos, documents and pictures one owner may keep (MB)
MAX_ARCHIVE_MB = 100  # an imported archive, compressed and uncompressed (MB)
MAX_TITLE_CHARS = 80  # a conversation title; default titles are cut to it
MAX_OWNER_CHARS = 200  # an owner string (a browser secret or a user name)
MAX_FEEDBACK_COMMENT_CHARS = 2000  # the comment that goes with a 👍 / 👎
MAX_SHARES_PER_OWNER = 200  # share links one owner may have at once
MAX_SHARE_DAYS = 365  # the longest expiry a share link may be given (none: until revoked)


@dataclass(frozen=True)
class StoreLimits:
    """What one owner may keep, and how big an import may be (AppConfig.store_limits)."""

    max_conversations_per_owner: int = MAX_CONVERSATIONS_PER_OWNER
    max_stored_mb_per_owner: float = MAX_STORED_MB_PER_OWNER
    max_archive_mb: float = MAX_ARCHIVE_MB
    max_title_chars: int = MAX_TITLE_CHARS


@dataclass(frozen=True)
class GenerationSettings:
    """The picture defaults copied into each ImageRequest: what the generator model is meant to
    run at (profiles.generation_settings chooses them once)."""

    steps: int = 1
    guidance: float = 0.0
    width: int = 512
    height: int = 512
    negative_prompt: str = ""
    seed: int | None = None  # None: a fresh random seed for each new picture
    strength: float = 0.6  # image-to-image: how far from the uploaded photo


@dataclass(frozen=True)
class RetrievalConfig:
    """How a conversation's documents are searched and packed into the prompt."""

    whole_document_chars: int = WHOLE_DOCUMENT_CHARS  # also: below it nothing is embedded
    top_k: int = RETRIEVAL_TOP_K
    # score = cosine + keyword_weight * bm25 / best bm25: the evaluation is flat for 0.3-1.5,
    # and exact codes ("permit MR7116") need >= 1 (bench/bench_retrieval.py)
    keyword_weight: float = 1.0
    use_bm25: bool = True
    embed_batch: int = 32  # chunks per forward pass of the embedder


# ---- many people at once (chatbot/models/sidecar.py, chatbot/limits.py) --------------------
LLAMA_SERVER_SLOTS = 20  # sequences llama-server decodes in one batch (--parallel): decode of a
# small model on a CPU reads the weights once per step however many sequences share it. 20 at
# once on 2 cores: first tokens within about 2 s for all (8 slots: the 9th waited for a whole
# reply) and each stream still faster than reading (bench_concurrency, llama-server:N)
LLAMA_SERVER_CTX_PER_SLOT = 4096  # tokens of context each slot holds (its own KV cache: a
# unified pool measured no faster, bench_concurrency)
LLAMA_SERVER_START_S = 120  # llama-server must answer /health within this (a restart too)
SERVER_CHATS_AT_ONCE = 16  # chats streaming at once from a remote --server-url
MAX_CHATS_PER_OWNER = 2  # replies one owner may have running at once (the rest are refused)
MAX_QUEUE = 64  # requests waiting for a slot; beyond this the app answers busy
DRAWINGS_AT_ONCE = 1  # pictures drawn at once (a diffusion step takes every core)
TRANSCRIPTIONS_AT_ONCE = 1  # voice notes and soundtracks transcribed at once
DOCUMENT_READS_AT_ONCE = 1  # documents parsed (and OCR'd) at once


@dataclass(frozen=True)
class SidecarConfig:
    """llama-server as the app's own engine (`--engine llama-server`): how it is started."""

    slots: int = LLAMA_SERVER_SLOTS
    ctx_per_slot: int = LLAMA_SERVER_CTX_PER_SLOT
    batch: int = 512  # tokens per logical batch (prompt processing), as the in-process n_batch
    ubatch: int = 512  # tokens per physical batch
    # threads for decode and for batches (several slots' tokens, prompts): profiles leaves a core
    # to the app, which streams every slot's tokens. Threads that wait for each other at every
    # step stalled whenever the app (or anything else) took one of their cores: on 2 busy cores
    # two streams at once ran at 2-7 tokens/s with 2 threads, at 40-100 with 1
    threads: int = 1
    threads_batch: int = 1
    poll: int = 0  # idle llama.cpp workers sleep instead of spinning on a core the app needs
    cache_ram_mb: int = KV_CACHE_MB  # idle slots' prompts kept in host memory (--cache-ram)
    log_dir: Path | None = None  # llama-server.log and its pid file; None: the cache folder
    reason: str = ""  # why these numbers, shown in the header and the LLM step

    @property
    def ctx_total(self) -> int:
        return self.slots * self.ctx_per_slot


@dataclass(frozen=True)
class ModelConfig:
    """Which LLM answers, and where it runs."""

    kind: str = "vlm"  # vlm | text | server
    model: str = ""  # hub id or local path
    gguf_file: str | None = None  # for the offline GGUF text model
    server_url: str | None = None  # OpenAI-compatible base URL (vLLM, TGI, llama.cpp, Ollama)
    device: str = "auto"  # auto | cpu | cuda | mps
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    quantize: str | None = None  # None | "4bit" | "8bit" (bitsandbytes + CUDA only)
    engine: str = "auto"  # CPU: "int8" (PyTorch dynamic int8 Linear) | "fp32" | "llama.cpp" (GGUF)
    # | "llama-server" (GGUF, llama.cpp's server as a sidecar process: batched slots)
    sidecar: SidecarConfig | None = None  # engine "llama-server": how the sidecar is started
    engine_reason: str = ""  # why, shown in the chain step
    max_image_side: int | None = None  # derived from the device when None
    image_splitting: bool | None = None  # Idefics3 tiling: off on CPU (token cost), on on GPU
    max_new_tokens: int = MAX_NEW_TOKENS
    min_new_tokens: int = 0  # > 0: replies of a fixed length (tests and benchmarks)
    temperature: float = 0.0  # 0 = greedy: reproducible answers
    top_p: float = 0.9
    # None: 1.1 for a text LM (small ones loop without it), 1.0 for a VLM or a server's model
    repetition_penalty: float | None = None
    cache_dir: Path = field(default_factory=cache_dir)  # where converted weights are kept

    @property
    def chats_at_once(self) -> int:
        """Chats the app lets stream at once: the sidecar's slots (it batches them), a remote
        server's SERVER_CHATS_AT_ONCE (it queues what it cannot batch), else 1 (an engine in this
        process holds one sequence; the others wait in the queue, where Stop reaches them)."""
        if self.engine == "llama-server":
            return (self.sidecar or SidecarConfig()).slots
        return SERVER_CHATS_AT_ONCE if self.kind == "server" else 1


@dataclass(frozen=True)
class Choice:
    """The model behind one box of the diagram, and why it was chosen (the UI shows the reason)."""

    model: str | None = None  # hub id or local path; None: this box is off on this profile
    reason: str = ""
    embedder: str | None = None  # the draw classifier only: the embedder its weights were fit on


@dataclass(frozen=True)
class AppConfig:
    """Everything the app runs with, resolved once by profiles.build_config and never changed."""

    profile: str = "tiny"  # hub | offline | tiny ("auto" is resolved away)
    profile_reason: str = ""  # why auto picked what it picked, shown in the UI
    llm: ModelConfig = field(default_factory=ModelConfig)
    embeddings: Choice = field(default_factory=Choice)  # sentence embeddings for retrieval
    generator: Choice = field(default_factory=Choice)  # diffusers text-to-image
    classifier: Choice = field(default_factory=Choice)  # the learned draw/no-draw classifier
    asr: Choice = field(default_factory=Choice)  # speech -> text (faster-whisper)
    vision: Choice = field(default_factory=Choice)  # CLIP/SigLIP: zero-shot labels, photo search
    data_dir: Path | None = None  # where conversations are kept; None: in memory only (tests)
    database_url: str | None = (
        None  # PostgreSQL for several app processes; None: SQLite in data_dir
    )
    retention_days: float = 0  # delete conversations idle this long (0, the default: keep them)
    store_limits: StoreLimits = field(default_factory=StoreLimits)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    cache_dir: Path = field(default_factory=cache_dir)  # models built or converted here
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    drawing: GenerationSettings = field(default_factory=GenerationSettings)  # the draw defaults


def resolve_device(requested: str = "auto") -> str:
    """cuda, then mps, then cpu."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(requested: str, device: str):
    """bf16 on GPUs that support it, fp16 on older GPUs and mps, fp32 on CPU."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


# ---- voice and video in (chatbot/ingest/audio.py, chatbot/ingest/video.py) ----------------
AUDIO_EXTENSIONS = (".wav", ".mp3", ".m4a", ".ogg", ".webm", ".flac")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov")  # .webm: a file with a video stream is a video
# one voice message, bounded by how long transcription keeps the user waiting (bench_asr)
MAX_AUDIO_SECONDS = 120
MAX_VIDEO_SECONDS = 60  # one clip: every frame is decoded to find scene changes
MAX_VIDEO_FRAMES = 8  # frames sent on per clip (each costs the LLM 64+ image tokens)
MAX_VIDEO_FRAME_SIDE = 768  # frames are kept at most this big (the encoders read 384-768 px)
VIDEO_MIN_FRAME_GAP_S = 0.5  # uniform frames closer than this to a chosen one add nothing
SCENE_CHANGE_THRESHOLD = 30.0  # mean |difference| of consecutive 64x64 gray frames (0-255) that
# counts as a cut: the test clip's colour cuts measure 48 and 77, a
# random texture panning 8 px a frame 12, identical frames 0
ASR_SAMPLE_RATE = 16_000  # what Whisper reads: mono float32 at 16 kHz
ASR_BEAM_SIZE = 5
ASR_LANGUAGES = ("ko", "en")  # the languages the app converses in
ASR_MIN_LANGUAGE_PROB = 0.5  # a detected language below this is a guess: the user's hint wins
ASR_FOREIGN_LANGUAGE_PROB = 0.95  # a detected language outside ASR_LANGUAGES beats the hint only
# this sure (whisper-base hears espeak Korean as Thai at up to 0.90)
HUB_ASR = "Systran/faster-whisper-small"  # hub profile default; --asr-model overrides

# ---- vision toolkit: zero-shot labels, photo search, training (chatbot/vision, training) ----
HUB_VISION_CLIP = "openai/clip-vit-base-patch32"  # hub profile default: softmax over the labels
HUB_VISION_SIGLIP = (
    "google/siglip-base-patch16-224"  # --vision-model: independent sigmoid per label
)
VISION_TOP_LABELS = 5  # labels shown (and given to the LLM) per photo
MAX_VISION_LABELS = 1000  # one label set (an ImageNet-sized list embeds in seconds, once per model)
MAX_TYPED_LABELS = 20  # labels parsed from a message ("is it a cat, a dog or a fox?")
MAX_LABEL_CHARS = 60  # one typed label; longer text is not a label
VISION_SEARCH_TOP_K = 5  # photos returned by a search
MAX_SEARCH_PHOTOS = 5000  # photos one search ranks (their embeddings stay in the caller's cache)
VISION_EMBED_BATCH = 32  # photos or prompts per forward pass
VISION_MIN_SCORE = -1.0  # cosine below which a search hit is dropped: -1 keeps all (the scale is
# model-specific: ViT-B/32 matches score ~0.25-0.35, unrelated ~0.15)
# training (scripts/train_clip.py, scripts/train_projector.py)
TRAIN_SAVE_EVERY = 50  # steps between resumable checkpoints
TRAIN_MAX_CAPTION_TOKENS = 64  # caption/answer tokens trained on; longer ones are cut
TRAIN_HELD_OUT_EVERY = 5  # 1 in 5 pairs (by a hash of the image name) is held out for evaluation
MAX_TRAIN_PAIRS = 1_000_000  # lines read from one captions.jsonl
CLIP_MAX_LOGIT_SCALE = 100.0  # 1/temperature is clamped to this (as CLIP does)
SIGLIP_INIT_BIAS = -10.0  # SigLIP's bias and log-temperature at the start (paper, section 3)
SIGLIP_INIT_LOG_SCALE = 2.302585  # ln 10
