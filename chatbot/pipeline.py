"""respond(): the one place that knows every stage, composed in data-flow order.

    message -> ingest (images | documents) -> retrieval -> OCR | vision encoder -> input projector
            -> LLM (streamed) -> output projector -> generator -> reply

`_answer` is that sequence, one method per stage. Every stage records a visible Step on the
reply so the UI (and API clients) can show what the chain did. Errors become a message in
the chat; the conversation keeps everything it had.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Iterator

from . import gpu
from .config import MAX_IMAGES_PER_CONVERSATION, MAX_MESSAGE_CHARS, AppConfig
from .context import build_messages, ocr_key, photos_in_context
from .conversation import Attachment, Conversation, Step, Turn
from .embeddings import llm_busy
from .generator import ImageRequest
from .history import History
from .loader import Models
from .messages import UserError, reader_language
from .messages import text as say
from .models.decoding import GenStats, Sampling
from .output_projector import hide_signal, parse_llm_signal
from .query import expand_query
from .steps import checkable, explain_failure, sources, with_progress
from .validate import image_edits


def check_message(text: str, files: list[str]) -> None:
    if not text.strip() and not files:
        raise UserError("message.empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError("message.too_long", chars=len(text), limit=MAX_MESSAGE_CHARS)


class Pipeline:
    def __init__(
        self, cfg: AppConfig, sampling: Sampling | None = None, history: History | None = None
    ):
        self.cfg = cfg
        self.models = Models(cfg)
        self.history = history or History()
        self.sampling = sampling or Sampling(
            max_new_tokens=cfg.llm.max_new_tokens,
            min_new_tokens=cfg.llm.min_new_tokens,
            temperature=cfg.llm.temperature,
            top_p=cfg.llm.top_p,
            repetition_penalty=1.1 if cfg.llm.kind == "text" else 1.0,
        )

    # ---- what the UI uses ----------------------------------------------------------
    def start(self) -> None:
        """Load the models in the background (the page is served meanwhile)."""
        self.models.start()

    def status(self) -> dict:
        return {**self.models.status(), "saving": self.history.problem or "saved as you go"}

    def forget(self, conv: Conversation) -> None:
        """Clear: stop what runs, delete the stored copy, drop the turns and every cache."""
        conv.stop_event.set()
        self.history.delete(conv)
        if self.models.backend is not None:
            self.models.backend.forget(conv.id)
        conv.clear()

    def undo(self, conv: Conversation) -> Turn | None:
        """Drop the last exchange (here and in the store); the user turn, to put back in the box
        or send again (its files copied out of the store before the store lets them go)."""
        user = conv.undo()
        if user is not None:
            user.attachments = self.history.copy_out(user.attachments)
        self.history.truncate(conv)
        return user

    def open(self, owner: str, conversation_id: str) -> Conversation:
        """A stored conversation of this owner (NotFound for anyone else's id)."""
        return self.history.open(owner, conversation_id)

    # ---- the chain, in data-flow order -------------------------------------------
    def respond(
        self,
        conv: Conversation,
        text: str,
        files: list[str] = (),
        draw: bool = False,
        queued_at: float | None = None,
        language: str | None = None,
    ) -> Iterator[Turn]:
        """Add the user's turn and stream the assistant's; yields the reply as it grows.
        draw=True is the UI's image toggle: this message asks for a picture. queued_at: when the
        message entered the queue; a Stop pressed after that cancels it before it starts.
        language: the user's language ("ko", "en": the browser's), a hint for speech recognition."""
        files = list(files or [])
        conv.stop_event.clear()
        conv.language = reader_language(language, text or "")  # errors and steps are shown in it
        user, reply = Turn("user", text=text or ""), Turn("assistant")
        try:
            if conv.stopped_since(queued_at):
                reply.stopped = True
                raise UserError("queue.stopped")
            check_message(text or "", files)
            self.history.check_files(conv.owner, files)
            user.attachments = self.ingest(files)
        except UserError as exc:
            reply.error = exc.text(conv.language)
            conv.turns += ([user] if (text or "").strip() else []) + [reply]
            for turn in conv.turns[conv.saved_turns :]:
                self.history.save(conv, turn)
            yield reply
            return
        conv.turns += [user, reply]
        self.history.save(conv, user)
        self.history.save(conv, reply, "streaming")
        yield reply
        try:
            with (
                llm_busy()
            ):  # the whole turn: a new document's background embedding waits till it ends
                for partial in self._answer(conv, user, reply, draw, language):
                    yield partial
                    self.history.save_partial(conv, reply)
        except UserError as exc:
            reply.error = exc.text(conv.language)
        except Exception as exc:
            traceback.print_exc()
            reply.error = explain_failure(exc, conv.language)
        for step in reply.steps:
            step.done = True
        self.history.finish(conv, reply)
        yield reply

    def ingest(self, files: list[str]) -> list[Attachment]:
        """Photos are checked and bounded now; documents are parsed in the reply, where progress shows."""
        from .ingest import check_files, ingest_file

        check_files(files)
        return [att for p in files for att in ingest_file(p)]

    def _answer(
        self, conv: Conversation, user: Turn, reply: Turn, draw: bool, language: str | None = None
    ) -> Iterator[Turn]:
        t_start = yield from self._wait_for_models(reply, conv.language)
        backend = self.models.backend
        yield from self._listen(conv, user, reply, language)
        yield from self._reload_photos(conv, reply)
        question = user.text.strip() or "Summarise the uploaded documents briefly."
        docs = yield from self._documents(conv, user, reply)
        context, passages = yield from self._retrieve(docs, question, reply, conv.language)
        yield from self._read_photos(conv, backend, reply)
        tools = yield from self._vision_tools(conv, user, reply)
        images = photos_in_context(conv)
        encodings = yield from self._encode(conv, backend, images, reply)
        messages = build_messages(
            conv,
            images,
            backend.sees_images,
            can_draw=self.models.can_draw,
            documents=context,
            question=question,
            tools=tools,
        )
        signal = yield from self._generate(conv, backend, messages, encodings, reply, t_start)
        if passages:  # the supporting sentences quoted, and highlighted on their pages
            reply.text, reply.sources, files = checkable(
                reply.text, question, passages, docs, conv.language
            )
            reply.files += files
        for photo in conv.images():  # the encodings (or OCR text) stay cached: the pixels can go
            photo.image = None
        if not reply.stopped:
            yield from self._picture(conv, user, reply, signal, draw)

    def _wait_for_models(self, reply: Turn, lang: str):
        """Show loading progress while the backend loads; returns when time to first token starts."""
        load = Step(say("step.loading", lang))
        for progress in self.models.wait():
            if load not in reply.steps:
                reply.steps.append(load)
            load.detail = progress
            yield reply
        if load in reply.steps:
            load.detail, load.done = (
                say("step.loaded", lang, seconds=self.models.load_seconds),
                True,
            )
        return time.perf_counter()  # time to first token counts from a loaded model

    def _listen(self, conv: Conversation, user: Turn, reply: Turn, language: str | None):
        """Voice notes become the user's words; clips become timed frames and words (media.py)."""
        media = [a for a in user.attachments if a.kind in ("audio", "video")]
        if not media:
            return
        from .media import listen
        from .prompts import language_of

        hint = language or ("ko" if language_of(user.text) == "Korean" else None)
        heard = yield from listen(
            media,
            self.cfg.asr,
            hint,
            reply,
            lambda work, step: with_progress(lambda report: work(), step, "{}", reply),
            conv.language,
        )
        user.text = "\n\n".join(part for part in [user.text.strip(), *heard.text] if part)
        user.attachments = user.attachments + heard.frames
        self.history.save(conv, user)  # the transcript and the frames are part of what was said

    def _reload_photos(self, conv: Conversation, reply: Turn):
        """A conversation restored from the store keeps its photos as files: say that the encoder
        reads them again, once each (ingest.images.pixels() loads them as they are needed)."""
        if not conv.restored:
            return
        conv.restored = False
        photos = conv.images()[-MAX_IMAGES_PER_CONVERSATION:]
        if photos:
            reply.steps.append(
                Step(
                    say("step.restored", conv.language),
                    say("step.restored_detail", conv.language, count=len(photos)),
                    done=True,
                )
            )
            yield reply

    def _documents(self, conv: Conversation, user: Turn, reply: Turn):
        """Parse this turn's documents (page progress) into the conversation's index; the index or None.
        A restored conversation re-reads its earlier documents from the store first."""
        new = [a for a in user.attachments if a.kind == "document"]
        earlier = (
            []
            if conv.documents is not None
            else [
                a
                for t in conv.turns
                if t.role == "user" and t is not user
                for a in t.attachments
                if a.kind == "document"
            ]
        )
        if (new or earlier) and conv.documents is None:
            from .retrieval import DocumentIndex

            if self.cfg.embeddings.model is None:
                raise UserError("docs.no_embeddings", reason=self.cfg.embeddings.reason)
            conv.documents = DocumentIndex(self.cfg.embeddings.model)
        for att in earlier:
            try:
                yield from self._read_document(
                    conv, att, reply, note=say("step.doc_restored", conv.language)
                )
            except UserError:  # refused when it was uploaded: it is not in the conversation either
                reply.steps.pop()
        for att in new:
            yield from self._read_document(conv, att, reply)
        return conv.documents if conv.documents is not None and conv.documents.documents else None

    def _read_document(self, conv: Conversation, att: Attachment, reply: Turn, note: str = ""):
        from .ingest.documents import ingest_document

        step = Step(f"📄 {att.name}", say("step.reading", conv.language))
        reply.steps.append(step)
        doc = yield from with_progress(
            lambda report: ingest_document(att.path, att.name, report),
            step,
            say("step.page_progress", conv.language),
            reply,
        )
        added = conv.documents.add(doc)
        step.detail = doc.summary() + note + ("" if added else say("step.doc_again", conv.language))
        if doc.kind == "table" and doc.tables:  # sheets show a preview
            step.detail += "\n\n" + "\n".join(doc.tables[0].markdown.splitlines()[:8])
        step.done = True

    def _retrieve(self, docs, question: str, reply: Turn, lang: str):
        """Page-cited passages for this question: (fenced context, passages)."""
        if docs is None:
            return "", []
        step = Step(say("step.retrieval", lang), "…")
        reply.steps.append(step)
        docs.start_embedding()  # dense vectors in the background: keywords answer meanwhile
        search = expand_query(
            question
        )  # Korean words + English terms, for BM25 and the embedder only
        context, passages = yield from with_progress(
            lambda report: docs.context(search.text), step, "{}", reply
        )
        done, total = docs.embedding_progress
        served = say(f"retrieval.{docs.last_mode}", lang, done=done, total=total)
        expanded = search if docs.last_mode != "whole" else None
        step.detail, step.done = (
            say("step.served_by", lang, how=served) + "\n\n" + sources(passages, expanded, lang),
            True,
        )
        return context, passages

    def _read_photos(self, conv: Conversation, backend, reply: Turn):
        """OCR for an LLM that cannot see: once per photo per conversation, cached like encodings."""
        images = conv.images()[-MAX_IMAGES_PER_CONVERSATION:]
        if not images or backend.sees_images:
            return
        from .ingest.ocr import ocr_image

        step = Step(say("step.ocr", conv.language))
        reply.steps.append(step)
        yield reply
        lines = []
        for i, att in enumerate(images):
            if ocr_key(att) not in conv.image_cache:
                conv.image_cache[ocr_key(att)] = ocr_image(pixels(att))
            lines.append(
                say(
                    "step.ocr_photo",
                    conv.language,
                    n=i + 1,
                    name=att.name,
                    chars=len(conv.image_cache[ocr_key(att)]),
                )
            )
        step.detail, step.done = "\n".join(lines), True

    def _vision_tools(self, conv: Conversation, user: Turn, reply: Turn):
        """Zero-shot labels or photo search when the message asks (vision/tools.py decides); the
        results go to the LLM as marked context, the gallery to the reply. Returns that context."""
        from .vision import decide
        from .vision.stage import run_tool

        decision = decide(user.text, has_photos=bool(conv.images()))
        if decision.tool is None:
            return ""
        step = Step(
            say("step.vision", conv.language),
            f"{decision.tool} ({decision.source}): {decision.reason}",
        )
        reply.steps.append(step)
        yield reply
        if self.cfg.vision.model is None:  # the offline profile: say so, the LLM still answers
            step.detail, step.done = (
                say("step.unavailable", conv.language, reason=self.cfg.vision.reason),
                True,
            )
            return ""
        photos = conv.images()
        result = yield from with_progress(
            lambda report: run_tool(
                decision, self.models.vision(), photos, conv.image_cache, conv.language
            ),
            step,
            "{}",
            reply,
        )
        step.title, step.detail, step.done = result.title, result.detail, True
        reply.files += result.files
        reply.tools = result.info
        return result.context

    def _encode(self, conv: Conversation, backend, images: list[Attachment], reply: Turn):
        """Vision encoder -> input projector, once per image per conversation."""
        if not images or not backend.sees_images:
            return []
        step = Step(f"🖼️ {backend.encoder_name} → {backend.projector_name}")
        reply.steps.append(step)
        yield reply
        encodings, lang = gpu.encode(backend, images, conv.image_cache), conv.language
        step.detail = "\n".join(
            say(
                "step.encode_photo",
                lang,
                n=i + 1,
                name=a.name,
                what=(
                    say("step.encode_server", lang)
                    if e.n_tokens == 0
                    else say("step.encode_tokens", lang, n=e.n_tokens)
                )
                + (
                    say("step.encode_cached", lang)
                    if e.cached
                    else say("step.encode_time", lang, ms=e.seconds * 1000)
                ),
            )
            + (f" · {say(a.note, lang)}" if a.note else "")
            for i, (a, e) in enumerate(zip(images, encodings))
        )
        step.done = True
        return encodings

    def _generate(
        self, conv: Conversation, backend, messages, encodings, reply: Turn, t_start: float
    ):
        """The LLM, streamed; returns its <draw> signal for the output projector (or None)."""
        step = Step(f"💬 {backend.describe()}")
        reply.steps.append(step)
        stats, raw, t_llm = GenStats(), "", time.perf_counter()
        for piece in gpu.stream(
            backend,
            messages,
            encodings,
            key=conv.id,
            sampling=self.sampling,
            stop_event=conv.stop_event,
            stats=stats,
        ):
            raw += piece
            reply.text = hide_signal(
                raw
            )  # the <draw> line is for the output projector, not the reader
            yield reply
        reply.text, signal = parse_llm_signal(raw)
        reply.stopped = stats.stopped or conv.stop_event.is_set()
        ttft = (
            t_llm - t_start + stats.ttft_s
        )  # from the message to the first token, encoding included
        reply.metrics = {
            "ttft_s": round(ttft, 4),
            "tokens_per_s": round(stats.tokens_per_s, 2),
            "new_tokens": stats.new_tokens,
            "prompt_tokens": stats.prompt_tokens,
            "reused_tokens": stats.reused_tokens,
            "images": len(encodings),
            # the split of the time to first token: encoder + projector, then the LLM's prefill
            "encode_s": round(sum(e.seconds for e in encodings), 4),
            "prefill_s": round(stats.ttft_s, 4),
        }
        lang = conv.language
        step.detail = (
            say(
                "step.generate_detail",
                lang,
                ttft=ttft,
                tps=stats.tokens_per_s,
                new=stats.new_tokens,
                prompt=stats.prompt_tokens,
            )
            + (say("step.reused", lang, n=stats.reused_tokens) if stats.reused_tokens else "")
            + (say("step.stopped", lang) if reply.stopped else "")
        )
        step.done = True
        yield reply
        return signal

    # ---- output projector -> generator -------------------------------------------
    def _picture(
        self, conv: Conversation, user: Turn, reply: Turn, signal: dict | None, toggle: bool
    ) -> Iterator[Turn]:
        """Decide whether the reply needs a picture and write its prompt, then draw it."""
        from .generator import default_settings
        from .output_projector import decide, write_prompt

        decision = decide(
            user.text,
            toggle=toggle,
            llm_signal=signal is not None,
            classifier=self.models.classifier(),
            documents=conv.documents is not None,
            picture=bool(conv.image_request or conv.images()),
        )
        if not decision.draw:
            return
        step = Step(
            say("step.output_projector", conv.language),
            say(
                "step.draw_decision", conv.language, source=decision.source, reason=decision.reason
            ),
        )
        reply.steps.append(step)
        yield reply
        if not self.models.can_draw:  # say so before asking the LLM for a prompt nobody can draw
            step.done = True
            reply.error = self._cannot_draw(conv.language)
            return
        backend = self.models.backend
        history = [
            (t.role, t.text) for t in conv.model_turns()[:-2]
        ]  # the turns before this exchange
        photo = next(
            (a.path for a in user.attachments if a.kind == "image"), None
        )  # -> a variation of it
        req = write_prompt(
            lambda msgs: backend.complete(msgs, key=f"{conv.id}:prompt"),
            history,
            user.text,
            conv.image_request,
            default_settings(self.cfg.generator.model, self.cfg.llm.device),
            signal=signal,
            init_image=photo,
        )
        step.detail += say(
            "step.draw_prompt",
            conv.language,
            prompt=req.prompt,
            seed=req.seed,
            steps=req.steps,
            width=req.width,
            height=req.height,
        )
        step.done = True
        yield from self.draw(conv, reply, req)

    def _cannot_draw(self, lang: str) -> str:
        return self.cfg.generator.reason or say("draw.no_generator", lang)

    def redraw(
        self,
        conv: Conversation,
        edits: ImageRequest | dict,
        queued_at: float | None = None,
        language: str | None = None,
    ) -> Iterator[Turn]:
        """The card's Redraw, without the LLM: `edits` is an ImageRequest or the card's fields over the
        last request, checked (validate.image_edits) before anything is kept; stopped while queued: nothing."""
        if conv.stopped_since(queued_at):
            yield Turn(
                "assistant", stopped=True, error=say("queue.stopped", reader_language(language, ""))
            )
            return
        conv.stop_event.clear()
        reply = Turn("assistant")
        conv.turns.append(reply)
        self.history.save(conv, reply, "streaming")
        try:
            req = (
                edits if isinstance(edits, ImageRequest) else image_edits(edits, conv.image_request)
            )
            yield from self.draw(conv, reply, req)
        except UserError as exc:
            reply.error = exc.text(conv.language)
        self.history.finish(conv, reply)
        yield reply

    def draw(self, conv: Conversation, reply: Turn, req: ImageRequest) -> Iterator[Turn]:
        """Run the generator with per-step progress; Stop ends it after the current step."""
        from .generator import GenerationStopped, check_request

        lang = conv.language
        if not self.models.can_draw:
            reply.error = self._cannot_draw(lang)
            yield reply
            return
        req = check_request(
            req
        )  # a request that fails its limits is never kept (it would poison follow-ups)
        conv.image_request = req
        reply.card = req.to_dict()
        step = Step(
            f"🎨 {Path(self.cfg.generator.model).name}", say("step.generator_loading", lang)
        )
        reply.steps.append(step)
        yield reply
        generator = self.models.generator()
        try:
            image = yield from with_progress(
                lambda report: gpu.draw(generator, req, on_step=report, stop_event=conv.stop_event),
                step,
                say("step.draw_progress", lang),
                reply,
            )
        except GenerationStopped as exc:
            reply.stopped, step.detail = True, say("step.draw_stopped", lang, reason=exc)
        except UserError as exc:
            reply.error = exc.text(lang)
        except Exception as exc:
            reply.error = say("draw.failed", lang, error=f"{type(exc).__name__}: {exc}")
        else:
            reply.files.append(image.path)
            p = image.provenance
            step.detail = say(
                "step.drawn",
                lang,
                model=p.get("model", ""),
                seed=p.get("seed"),
                steps=p.get("steps"),
                width=image.image.width,
                height=image.image.height,
                seconds=p.get("seconds", 0),
            )
        step.done = True
        yield reply
