"""The model loader: the LLM backend in the background (the page never waits for it), the
generator and the draw classifier on first use. Which models, the config already says."""

from __future__ import annotations

import threading
import time
import traceback
from typing import Iterator

from . import gpu
from .config import AppConfig

LOAD_POLL_S = 0.5


class Models:
    """Loads the backend once, in the background, reporting progress."""

    def __init__(self, cfg: AppConfig):
        self.cfg = cfg
        self.backend = None
        self.progress = "not started"
        self.error: str | None = None
        self.load_seconds = 0.0
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._generator = None
        self._classifier = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, daemon=True, name="model-loader")
                self._thread.start()

    def _load(self) -> None:
        from .embeddings import IMPORT_LOCK

        with IMPORT_LOCK:  # transformers' lazy imports are not safe from two threads at once
            import transformers.models.auto.modeling_auto  # noqa: F401

            from .models import create_backend
        t = time.perf_counter()
        try:
            self.progress = "preparing"
            if self.cfg.llm.kind != "server":
                from .hub import check_hub_model

                problem = check_hub_model(self.cfg.llm.model)
                if problem:
                    raise RuntimeError(problem)
            backend = create_backend(self.cfg.llm)
            backend.load(progress=lambda s: setattr(self, "progress", f"loading {s}"))
            if gpu.ON_ZEROGPU:  # a forked GPU worker sees only the models held before it forks
                gpu.hold(llm=backend, generator=self.generator())
            else:  # (there the model runs only inside GPU functions)
                self._warm(backend)
            self.backend = backend
            self.progress = "ready"
        except Exception as exc:  # shown in the chat and the header, the app stays up
            traceback.print_exc()
            self.error = f"{type(exc).__name__}: {exc}"
            self.progress = "failed"
        finally:
            self.load_seconds = time.perf_counter() - t
            self._ready.set()
        self._warm_documents()

    @staticmethod
    def _warm_documents() -> None:
        """The document path's imports (PyMuPDF, LangChain's splitter: about 1 s on 2 cores) paid
        once the model is ready, not by the first upload's answer."""
        try:
            import pymupdf  # noqa: F401

            from .retrieval.chunks import _splitter

            _splitter()
        except Exception:  # the first upload pays for them instead
            traceback.print_exc()

    def _warm(self, backend) -> None:
        """The system prompt prefilled now, so that the first conversation does not wait for it."""
        from .context import system_prompt
        from .conversation import Conversation

        self.progress = "loading the system prompt"
        try:
            backend.warm(system_prompt(Conversation(), self.can_draw, documents=False))
        except Exception:  # only a head start is lost
            traceback.print_exc()

    @property
    def can_draw(self) -> bool:
        return self.cfg.generator.model is not None

    def generator(self):
        """The diffusers Generator, loaded on first use (None when this profile cannot draw)."""
        with self._lock:
            if self._generator is None and self.can_draw:
                from .generator import Generator

                self._generator = Generator(self.cfg.generator.model, device=self.cfg.llm.device)
            return self._generator

    def classifier(self):
        """The learned draw/no-draw classifier (GILL-style), or None where there is none."""
        choice = self.cfg.classifier
        with self._lock:
            if self._classifier is None and choice.model is not None:
                from .output_projector import DrawClassifier

                self._classifier = DrawClassifier.load(choice.model, embedder=choice.embedder)
            return self._classifier

    def vision(self):
        """The CLIP/SigLIP dual encoder for labels and photo search (loaded on first use)."""
        from .vision import load_vision_model

        return load_vision_model(self.cfg.vision.model)

    def wait(self) -> Iterator[str]:
        """Yield progress lines until loaded; raise if loading failed."""
        self.start()
        while not self._ready.wait(LOAD_POLL_S):
            yield self.progress
        if self.error:
            raise RuntimeError(
                f"the model could not be loaded ({self.error}). "
                "Check --model / --profile, or restart with --profile offline."
            )

    def status(self) -> dict:
        """The loading state and what each box runs, for the UI's header and /status."""
        b, cfg = self.backend, self.cfg
        return {
            "profile": cfg.profile,
            "reason": cfg.profile_reason,
            "progress": self.progress,
            "error": self.error,
            "llm": b.describe() if b else cfg.llm.model or cfg.llm.server_url,
            "sees_images": bool(b and b.sees_images),
            "generator": cfg.generator.model,
            "generator_reason": cfg.generator.reason,
            "load_seconds": round(self.load_seconds, 2),
            "engine": cfg.llm.engine,
            "engine_reason": cfg.llm.engine_reason,
            "engine_process": b.process() if b else None,
        }

    def close(self) -> None:
        """Stop the backend's own process, if it runs one (the llama-server sidecar)."""
        if self.backend is not None:
            self.backend.close()
