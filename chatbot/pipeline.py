"""respond(): the one place that knows every stage, composed in data-flow order.

    message -> ingest (images | documents) -> vision encoder -> input projector
            -> LLM (streamed) -> output projector -> generator -> reply

Every stage records a visible Step on the reply so the UI (and API clients)
can show what the chain did. Errors become a message in the chat; the
conversation keeps everything it had.
"""
from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Iterator

from .config import MAX_HISTORY_CHARS, MAX_IMAGES_PER_CONVERSATION, MAX_MESSAGE_CHARS, AppConfig
from .conversation import Attachment, Conversation, Step, Turn, UserError
from .models.decoding import GenStats, Sampling
from .output_projector import hide_signal, parse_llm_signal
from .prompts import language_of, render, template

LOAD_POLL_S = 0.5


class Models:
    """Loads the backend once, in the background, reporting progress; the page never waits for it."""

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
        self._classifier = False  # False: not loaded yet (None: this profile has none)

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, daemon=True, name="model-loader")
                self._thread.start()

    def _load(self) -> None:
        from .models import create_backend
        t = time.perf_counter()
        try:
            self.progress = "preparing"
            backend = create_backend(self.cfg.llm)
            backend.load(progress=lambda s: setattr(self, "progress", f"loading {s}"))
            self.generator_model()  # resolve (tiny: build) the generator off the request path
            self.backend = backend
            self.progress = "ready"
        except Exception as exc:  # shown in the chat and the header, the app stays up
            traceback.print_exc()
            self.error = f"{type(exc).__name__}: {exc}"
            self.progress = "failed"
        finally:
            self.load_seconds = time.perf_counter() - t
            self._ready.set()

    def generator_model(self) -> str | None:
        """The diffusers model this profile draws with (None: it cannot draw)."""
        if self.cfg.generator is None and self.cfg.profile in ("tiny", "hub"):
            from .generator import generator_for_profile
            self.cfg.generator = generator_for_profile(self.cfg.profile)
        return self.cfg.generator

    def generator(self):
        with self._lock:
            if self._generator is None:
                from .generator import Generator
                self._generator = Generator(self.generator_model(), device=self.cfg.llm.device)
            return self._generator

    def classifier(self):
        """The learned draw/no-draw classifier (GILL-style) for this profile, or None."""
        with self._lock:
            if self._classifier is False:
                from .output_projector import load_classifier
                self._classifier = load_classifier(self.cfg.profile)
            return self._classifier

    def wait(self) -> Iterator[str]:
        """Yield progress lines until loaded; raise if loading failed."""
        self.start()
        while not self._ready.wait(LOAD_POLL_S):
            yield self.progress
        if self.error:
            raise RuntimeError(f"the model could not be loaded ({self.error}). "
                               "Check --model / --profile, or restart with --profile offline.")


def check_message(text: str, files: list[str]) -> None:
    if not text.strip() and not files:
        raise UserError("The message is empty: type a question or attach a photo.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError(f"The message has {len(text):,} characters, over the limit of "
                        f"{MAX_MESSAGE_CHARS:,} (MAX_MESSAGE_CHARS). Shorten it or attach it as a file.")


class Pipeline:
    def __init__(self, cfg: AppConfig, sampling: Sampling | None = None):
        self.cfg = cfg
        self.models = Models(cfg)
        self.sampling = sampling or Sampling(max_new_tokens=cfg.llm.max_new_tokens,
                                             temperature=cfg.llm.temperature, top_p=cfg.llm.top_p,
                                             repetition_penalty=1.1 if cfg.llm.kind == "text" else 1.0)

    # ---- the chain, in data-flow order -------------------------------------------
    def respond(self, conv: Conversation, text: str, files: list[str] = (), draw: bool = False) -> Iterator[Turn]:
        """Add the user's turn and stream the assistant's; yields the reply as it grows.
        draw=True is the UI's image toggle: this message asks for a picture."""
        files = list(files or [])
        conv.stop_event.clear()
        user, reply = Turn("user", text=text or ""), Turn("assistant")
        try:
            check_message(text or "", files)
            user.attachments = self.ingest(files)
        except UserError as exc:
            reply.error = str(exc)
            conv.turns += ([user] if (text or "").strip() else []) + [reply]
            yield reply
            return
        conv.turns += [user, reply]
        yield reply
        try:
            yield from self._answer(conv, user, reply, draw)
        except UserError as exc:
            reply.error = str(exc)
        except Exception as exc:
            traceback.print_exc()
            reply.error = explain_failure(exc)
        for step in reply.steps:
            step.done = True
        yield reply

    def ingest(self, files: list[str]) -> list[Attachment]:
        from .ingest import check_files, ingest_image, is_image
        check_files(files)
        # photos are checked now; documents are parsed in the reply, where progress shows
        return [ingest_image(p) if is_image(p) else Attachment("document", Path(p).name, p, "") for p in files]

    def _answer(self, conv: Conversation, user: Turn, reply: Turn, draw: bool) -> Iterator[Turn]:
        t_start = time.perf_counter()
        load = Step("⏳ Loading model")
        for progress in self.models.wait():
            if load not in reply.steps:
                reply.steps.append(load)
            load.detail = progress
            yield reply
        if load in reply.steps:
            load.detail, load.done = f"loaded in {self.models.load_seconds:.1f} s", True
            t_start = time.perf_counter()  # time to first token counts from a loaded model
        backend = self.models.backend

        # documents: parse (page progress), index, retrieve page-cited passages for this question
        question = user.text.strip() or "Summarise the uploaded documents briefly."
        docs = yield from self._documents(conv, user, reply)
        context, passages = "", []
        if docs is not None:
            step = Step("📚 Retrieval", "…")
            reply.steps.append(step)
            context, passages = yield from with_progress(
                lambda report: (docs.embed(report), docs.context(question))[1], step, "embedding chunks {}/{}", reply)
            step.detail = sources(passages)
            step.done = True

        # photos: OCR first when the LLM cannot see; the prompt decides which photos stay in context
        images = conv.images()[-MAX_IMAGES_PER_CONVERSATION:]
        if images and not backend.sees_images:
            step = Step("🔤 OCR (no vision-language model on this profile)")
            reply.steps.append(step)
            yield reply
            step.detail, step.done = self._ocr(images, conv.image_cache), True
        messages = self.build_messages(conv, images, backend.sees_images,
                                       can_draw=self.models.generator_model() is not None,
                                       documents=context, question=question)

        # vision encoder -> input projector, once per image per conversation
        encodings = []
        if images and backend.sees_images:
            step = Step(f"🖼️ {backend.encoder_name} → {backend.projector_name}")
            reply.steps.append(step)
            yield reply
            encodings = backend.encode_images(images, conv.image_cache)
            step.detail = "\n".join(
                f"photo {i + 1} ({a.name}): " + ("sent to the server" if e.n_tokens == 0 else
                                                 f"{e.n_tokens} tokens") +
                (", cached" if e.cached else f", encoded in {e.seconds * 1000:.0f} ms")
                for i, (a, e) in enumerate(zip(images, encodings)))
            step.done = True

        # LLM, streamed
        step = Step(f"💬 {backend.describe()}")
        reply.steps.append(step)
        stats = GenStats()
        t_llm = time.perf_counter()
        raw = ""
        for piece in backend.stream(messages, encodings, key=conv.id, sampling=self.sampling,
                                    stop_event=conv.stop_event, stats=stats):
            raw += piece
            reply.text = hide_signal(raw)  # the <draw> line is for the output projector, not the reader
            yield reply
        reply.text, signal = parse_llm_signal(raw)
        reply.stopped = stats.stopped or conv.stop_event.is_set()
        ttft = t_llm - t_start + stats.ttft_s  # from the message to the first token, encoding included
        reply.metrics = {"ttft_s": round(ttft, 4), "tokens_per_s": round(stats.tokens_per_s, 2),
                         "new_tokens": stats.new_tokens, "prompt_tokens": stats.prompt_tokens,
                         "reused_tokens": stats.reused_tokens, "images": len(encodings)}
        step.detail = (f"time to first token {ttft:.2f} s · {stats.tokens_per_s:.1f} tokens/s · "
                       f"{stats.new_tokens} tokens · prompt {stats.prompt_tokens} tokens"
                       + (f" ({stats.reused_tokens} reused from this conversation's cache)"
                          if stats.reused_tokens else "") + (" · stopped" if reply.stopped else ""))
        step.done = True
        yield reply
        if passages:
            reply.files += thumbnails(passages, docs)
        if not reply.stopped:
            yield from self._picture(conv, user, reply, signal, draw)

    def _documents(self, conv: Conversation, user: Turn, reply: Turn):
        """Parse this turn's documents into the conversation's index; the index or None."""
        new = [a for a in user.attachments if a.kind == "document"]
        index = conv.extras.get("documents")
        if new and index is None:
            from .embeddings import embeddings_for_profile
            from .retrieval import DocumentIndex
            index = conv.extras["documents"] = DocumentIndex(embeddings_for_profile(self.cfg.profile))
        for att in new:
            from .ingest.documents import ingest_document
            step = Step(f"📄 {att.name}", "reading…")
            reply.steps.append(step)
            doc = yield from with_progress(lambda report: ingest_document(att.path, att.name, report),
                                           step, "page {}/{}", reply)
            att.data, att.sha256, att.text = doc, doc.sha256, doc.summary()
            added = index.add(doc)
            step.detail = doc.summary() + ("" if added else " · already in this conversation (not parsed again)")
            if doc.kind == "table" and doc.tables:  # sheets show a preview
                step.detail += "\n\n" + "\n".join(doc.tables[0].markdown.splitlines()[:8])
            step.done = True
        return index if index is not None and index.documents else None

    # ---- output projector -> generator -------------------------------------------
    def _picture(self, conv: Conversation, user: Turn, reply: Turn, signal: dict | None,
                 toggle: bool) -> Iterator[Turn]:
        """Decide whether the reply needs a picture and write its prompt, then draw it."""
        from .generator import default_settings
        from .output_projector import decide, write_prompt
        decision = decide(user.text, toggle=toggle, llm_signal=signal is not None,
                          classifier=self.models.classifier())
        if not decision.draw:
            return
        step = Step("🎯 Output projector", f"draw ({decision.source}): {decision.reason}")
        reply.steps.append(step)
        yield reply
        model = self.models.generator_model()
        if model is None:  # say so before asking the LLM for a prompt nobody can draw
            step.done = True
            reply.error = self._cannot_draw()
            return
        backend = self.models.backend
        history = [(t.role, t.text) for t in conv.model_turns()[:-2]]  # the turns before this exchange
        photo = next((a.path for a in user.attachments if a.kind == "image"), None)  # -> a variation of it
        req = write_prompt(lambda msgs: backend.complete(msgs, key=f"{conv.id}:prompt"), history, user.text,
                           conv.extras.get("image_request"), default_settings(model, self.cfg.llm.device),
                           signal=signal, init_image=photo)
        step.detail += f"\nprompt: {req.prompt}\nseed {req.seed} · {req.steps} steps · {req.width}x{req.height}"
        step.done = True
        yield from self.draw(conv, reply, req)

    def _cannot_draw(self) -> str:
        from .generator import why_no_generator
        return why_no_generator(self.cfg.profile) or "No image generator is configured: start with --generator ID_OR_PATH."

    def redraw(self, conv: Conversation, req) -> Iterator[Turn]:
        """The card's Redraw: draw an edited request again without asking the LLM."""
        conv.stop_event.clear()
        reply = Turn("assistant")
        conv.turns.append(reply)
        try:
            yield from self.draw(conv, reply, req)
        except UserError as exc:
            reply.error = str(exc)
        yield reply

    def draw(self, conv: Conversation, reply: Turn, req) -> Iterator[Turn]:
        """Run the generator with per-step progress; Stop ends it after the current step."""
        from .generator import GenerationStopped
        if self.models.generator_model() is None:
            reply.error = self._cannot_draw()
            yield reply
            return
        conv.extras["image_request"] = req
        reply.card = req.to_dict()
        step = Step(f"🎨 {Path(self.models.generator_model()).name}", "loading the generator…")
        reply.steps.append(step)
        yield reply
        generator = self.models.generator()
        try:
            image = yield from with_progress(lambda report: generator.generate(
                req, on_step=report, stop_event=conv.stop_event), step, "step {}/{}", reply)
        except GenerationStopped as exc:
            reply.stopped, step.detail = True, f"stopped: {exc}"
        except UserError as exc:
            reply.error = str(exc)
        except Exception as exc:
            reply.error = (f"The image generator failed ({type(exc).__name__}: {exc}); "
                           "the text reply is kept. Edit the prompt in the card and press Redraw.")
        else:
            reply.files.append(image.path)
            p = image.provenance
            step.detail = (f"{p.get('model', '')} · seed {p.get('seed')} · {p.get('steps')} steps · "
                           f"{image.image.width}x{image.image.height} · {p.get('seconds', 0):.1f} s")
        step.done = True
        yield reply

    def _ocr(self, images: list[Attachment], cache: dict) -> str:
        from .ingest.ocr import ocr_image
        lines = []
        for i, att in enumerate(images):
            key = ("ocr", att.sha256)
            if key not in cache:
                cache[key] = ocr_image(att.image)
            att.text = cache[key]
            lines.append(f"photo {i + 1} ({att.name}): {len(att.text)} characters read")
        return "\n".join(lines)

    def build_messages(self, conv: Conversation, images: list[Attachment], sees_images: bool,
                       can_draw: bool = False, documents: str = "", question: str = "") -> list[dict]:
        """Chat messages for the LLM: every turn keeps its photos in place, so the prompt of
        turn N is a prefix of turn N+1's (the KV cache then serves the old part)."""
        in_context = {id(a) for a in images}
        numbers = {id(a): i + 1 for i, a in enumerate(conv.images())}
        turns = conv.model_turns()[:-1]  # the reply being written is not part of the prompt
        kept, size = [], 0
        for t in reversed(turns):  # newest first, until the history budget is spent
            size += len(t.text) + sum(len(a.text) for a in t.attachments)
            if kept and size > MAX_HISTORY_CHARS:
                break
            kept.append(t)
        last_user = next((t.text for t in reversed(turns) if t.role == "user"), "")
        system = render("system", language=language_of(last_user))
        if can_draw:  # the LLM's own structured signal for the output projector
            system += "\n" + template("image_decision")
        if documents:
            system += "\n\n" + template("document_qa")
        messages = [{"role": "system", "content": [{"type": "text", "text": system}]}]
        for t in reversed(kept):
            parts = []
            for a in t.attachments:
                if a.kind != "image":
                    continue
                if id(a) not in in_context:
                    parts.append({"type": "text", "text": f"[photo {numbers[id(a)]} omitted: over the "
                                  f"{MAX_IMAGES_PER_CONVERSATION}-image limit]"})
                elif sees_images:
                    parts.append({"type": "image"})
                else:
                    parts.append({"type": "text", "text": render(
                        "ocr_image", number=numbers[id(a)], name=a.name, text=a.text or "(no text found)")})
            if documents and t is kept[0]:  # this turn's excerpts, fenced as data, before the question
                parts.append({"type": "text", "text": f"{documents}\n\nQuestion: {question}"})
            elif t.text:
                parts.append({"type": "text", "text": t.text})
            messages.append({"role": t.role, "content": parts or [{"type": "text", "text": ""}]})
        if sees_images:  # images dropped with old turns must not be encoded either
            kept_ids = {id(a) for t in kept for a in t.attachments}
            images[:] = [a for a in images if id(a) in kept_ids]
        return messages


def sources(passages) -> str:
    """The Retrieval step's text: what went into the context, with citations."""
    return "\n".join(f"{p.cite()} ({p.kind}, score {p.score:.2f}): {p.text[:160].strip()}…" for p in passages)


def thumbnails(passages, index, limit: int = 2) -> list[str]:
    """PNG thumbnails of the best-ranked PDF pages, so a citation is one click away."""
    import tempfile
    from .ingest.documents import render_page
    from .retrieval import _safe_name
    paths = {_safe_name(d.name): d.path for d in index.documents if d.kind == "pdf"}
    out = []
    for file, page in dict.fromkeys((p.file, p.page) for p in passages if p.file in paths):
        if len(out) == limit:
            break
        target = Path(tempfile.gettempdir()) / "chatbot-pages" / f"{Path(file).stem}-p{page}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        render_page(paths[file], page, dpi=36).save(target)  # a thumbnail, not a reader
        out.append(str(target))
    return out


def with_progress(work, step: Step, fmt: str, reply: Turn):
    """Run work(report) in a thread; each report(*args) becomes step.detail = fmt.format(*args)
    and the reply is yielded, so long stages stream their progress. Returns work's result
    (use with `yield from`) or re-raises its exception."""
    import queue
    reports, result = queue.Queue(), {}

    def run():
        try:
            result["value"] = work(lambda *a: reports.put(a))
        except BaseException as exc:  # handed to the streaming side
            result["error"] = exc
        finally:
            reports.put(None)
    threading.Thread(target=run, daemon=True).start()
    while (item := reports.get()) is not None:
        step.detail = fmt.format(*item)
        yield reply
    if "error" in result:
        raise result["error"]
    return result["value"]


def explain_failure(exc: Exception) -> str:
    """A message that names the cause and what to do."""
    import torch
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return ("The model ran out of memory while answering. Try fewer or smaller photos, "
                "Clear the conversation, or start with --quantize 4bit / a smaller --model.")
    return (f"The model failed while answering ({type(exc).__name__}: {exc}). "
            "The conversation is kept: try again, or press Clear to start over.")
