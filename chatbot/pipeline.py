"""respond(): the one place that knows every stage, composed in data-flow order.

    message -> ingest (images | documents) -> retrieval -> OCR | vision encoder -> input projector
            -> LLM (streamed) -> output projector -> generator -> reply

`_answer` is that sequence. Each stage lives in chatbot/stages/ (drawing in drawing.py): it
takes plain data, yields its visible Step as it progresses, and returns what it decided; the
spine applies that to the conversation and the reply (steps.show puts the steps on the reply).
Errors become a message in the chat; the conversation keeps everything it had.

The UI reaches all of it through one door: the Pipeline, whose methods besides respond are in
door.py (checks, undo, forget, redraw, and the owner's stored conversations).
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Iterator

from . import steps
from .config import MAX_IMAGES_PER_CONVERSATION, AppConfig
from .context import build_messages, photos_in_context
from .conversation import Attachment, Conversation, Turn
from .door import Door
from .drawing import Drawing
from .embeddings import TurnGate
from .history import History
from .live import Live
from .loader import Models
from .messages import UserError, reader_language
from .models.decoding import Sampling
from .steps import show

DEFAULT_QUESTION = "Summarise the uploaded documents briefly."  # files sent without a question


class Pipeline(Door):
    def __init__(
        self, cfg: AppConfig, sampling: Sampling | None = None, history: History | None = None
    ):
        self.cfg = cfg
        self.models = Models(cfg)
        self.history = history or History()
        self.sampling = sampling or Sampling.of(cfg.llm)
        self.gate = TurnGate()  # a new document's background embedding waits for the turns
        self.drawing = Drawing(cfg, self.models, self.history)
        self.live = Live()  # replies in progress, for other clients of their owner
        # held by each reply being written, as many at once as the engine decodes (one for an
        # in-process engine): a reply whose page went away (Door.carry_on) keeps its slot
        self.answering = threading.BoundedSemaphore(cfg.llm.chats_at_once)

    # ---- the turn protocol ---------------------------------------------------------------
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
        language: the user's language ("ko", "en": the browser's), a hint for speech
        recognition."""
        files, text = list(files or []), text or ""
        conv.stop_event.clear()
        conv.language = reader_language(language, text)  # errors and steps are shown in it
        user, reply = Turn("user", text=text), Turn("assistant")
        try:
            if conv.stopped_since(queued_at):
                reply.stopped = True
                raise UserError("queue.stopped")
            self.check(conv, text, files)
            user.attachments = self.ingest(files)
        except UserError as exc:
            reply.error = exc.text(conv.language)
            added = ([user] if text.strip() else []) + [reply]
            conv.add(*added)
            for turn in added:
                self.history.save(conv, turn)
            yield reply
            return
        conv.add(user)
        self.history.save(conv, user)
        yield from self._reply(conv, user, reply, draw, language)

    def regenerate(
        self, conv: Conversation, queued_at: float | None = None, language: str | None = None
    ) -> Iterator[Turn]:
        """Retry: a new reply to the visible path's last user message, beside the old one (its
        sibling in the tree: ‹ n/m ›); yields it as it grows. Nothing when there is no user
        message to answer again."""
        last = max((i for i, t in enumerate(conv.turns) if t.role == "user"), default=None)
        if last is None:
            return
        conv.stop_event.clear()
        conv.language = reader_language(language, conv.turns[last].text)
        reply = Turn("assistant")
        if conv.stopped_since(queued_at):
            reply.stopped, reply.error = True, UserError("queue.stopped").text(conv.language)
            yield reply
            return
        conv.cut(last + 1)
        yield from self._reply(conv, conv.turns[last], reply, False, language, again=True)

    def _reply(
        self,
        conv: Conversation,
        user: Turn,
        reply: Turn,
        draw: bool,
        language: str | None,
        again: bool = False,
    ) -> Iterator[Turn]:
        """The reply to user (the visible path's last turn), streamed and saved as it grows.
        again: a retry (the voice notes were heard already: their words are in the message)."""
        conv.add(reply)
        self.history.save(conv, reply, "streaming")
        run = self.live.begin(conv, reply)  # other clients of the owner may watch it (live.py)
        try:
            yield reply
            try:
                # at most the engine's slots: a reply whose page went away (Door.carry_on) may
                # still be writing when the queue lets the next one in
                with self.answering, self.gate.answering():  # retrieval to the last token
                    for partial in self._answer(conv, user, reply, draw, language, again):
                        run.bump()
                        yield partial
                        self.history.save_partial(conv, reply)
            except UserError as exc:
                reply.error = exc.text(conv.language)
            except Exception as exc:
                traceback.print_exc()
                reply.error = steps.explain_failure(exc, conv.language)
            for step in reply.steps:
                step.done = True
            self.history.finish(conv, reply)
            yield reply
        finally:
            self.live.end(run)

    def ingest(self, files: list[str]) -> list[Attachment]:
        """Photos are bounded now; documents, voice and clips are read in the reply, where their
        progress shows."""
        from .ingest import ingest_file

        return [att for p in files for att in ingest_file(p)]

    # ---- the chain, in data-flow order -----------------------------------------------------
    def _answer(
        self,
        conv: Conversation,
        user: Turn,
        reply: Turn,
        draw: bool,
        language: str | None,
        again: bool = False,
    ) -> Iterator[Turn]:
        lang = conv.language
        t_start = yield from self._wait_for_models(reply, lang)
        backend = self.models.backend
        if not again:
            yield from self._listen(conv, user, reply, language)
        self._reload_photos(conv, reply)
        question = user.text.strip() or DEFAULT_QUESTION
        docs = yield from self._documents(conv, user, reply)
        context, passages = "", []
        if docs is not None:
            from .stages.retrieve import retrieve

            context, passages = yield from show(reply, retrieve(docs, question, lang))
        yield from self._read_photos(conv, backend, reply)
        tools = yield from self._vision_tools(conv, user, reply)
        images = photos_in_context(conv)
        encodings = []
        if images and backend.sees_images:
            from .stages.encode import encode

            encodings = yield from show(reply, encode(backend, images, conv.image_cache, lang))
        messages = build_messages(
            conv,
            images,
            backend.sees_images,
            can_draw=self.models.can_draw,
            documents=context,
            question=question,
            tools=tools,
        )
        fenced = question if context or tools else None  # the prompt's fence, for the LLM stage
        signal = yield from self._generate(
            conv, backend, messages, encodings, reply, t_start, fenced
        )
        if passages:  # the supporting sentences quoted, and highlighted on their pages
            from .stages.cite import checkable

            reply.text, reply.sources, files = checkable(reply.text, question, passages, docs, lang)
            reply.files += files
        for photo in conv.images():  # the encodings (or OCR text) stay cached: the pixels can go
            photo.image = None
        if not reply.stopped:
            yield from self.drawing.picture(conv, user, reply, signal, draw)

    def _wait_for_models(self, reply: Turn, lang: str):
        """Show loading progress while the backend loads; returns when time to first token
        starts."""
        load = steps.loading(lang)
        for progress in self.models.wait():
            if load not in reply.steps:
                reply.steps.append(load)
            load.detail = progress
            yield reply
        if load in reply.steps:
            load.detail = steps.loaded(lang, self.models.load_seconds)
            load.done = True
        return time.perf_counter()  # time to first token counts from a loaded model

    def _listen(self, conv: Conversation, user: Turn, reply: Turn, language: str | None):
        """Voice notes become the user's words; clips become timed frames and words."""
        media = [a for a in user.attachments if a.kind in ("audio", "video")]
        if not media:
            return
        from .prompts import language_of
        from .stages.listen import listen

        hint = language or ("ko" if language_of(user.text) == "Korean" else None)
        heard = yield from show(reply, listen(media, self.cfg.asr, hint, conv.language))
        for att in heard.voice:
            att.kind = "audio"
        user.text = "\n\n".join(part for part in [user.text.strip(), *heard.text] if part)
        user.attachments = user.attachments + heard.frames
        self.history.save(conv, user)  # the transcript and the frames are part of what was said

    def _reload_photos(self, conv: Conversation, reply: Turn) -> None:
        """A conversation restored from the store keeps its photos as files: say that the
        encoder reads them again, once each (ingest.images.pixels loads them as needed)."""
        if not conv.restored:
            return
        conv.restored = False
        photos = conv.images()[-MAX_IMAGES_PER_CONVERSATION:]
        if photos:
            reply.steps.append(steps.restored(conv.language, len(photos)))

    def _documents(self, conv: Conversation, user: Turn, reply: Turn):
        """Parse this turn's documents (page progress) into the conversation's index; the index
        or None. A restored conversation re-reads its earlier documents from the store first."""
        from .stages.documents import read_document

        new = [a for a in user.attachments if a.kind == "document"]
        earlier = []
        if conv.documents is None:
            earlier = [
                a
                for t in conv.turns
                if t.role == "user" and t is not user
                for a in t.attachments
                if a.kind == "document"
            ]
        if (new or earlier) and conv.documents is None:
            conv.documents = self._new_index()
        index = conv.documents
        for att in earlier + new:
            restored = not any(att is a for a in new)
            try:
                reading = read_document(att, conv.language, index.cfg.whole_document_chars)
                doc, step = yield from show(reply, reading)
            except UserError:
                if not restored:
                    raise
                reply.steps.pop()  # refused when it was uploaded: not in the conversation either
                continue
            added = index.add(doc)
            step.detail = steps.document_read(doc, conv.language, added, restored)
            step.done = True
        return conv.documents if conv.documents is not None and conv.documents.documents else None

    def _new_index(self):
        from .retrieval import DocumentIndex

        if self.cfg.embeddings.model is None:
            raise UserError("docs.no_embeddings", reason=self.cfg.embeddings.reason)
        return DocumentIndex(self.cfg.embeddings.model, self.cfg.retrieval, self.gate)

    def _read_photos(self, conv: Conversation, backend, reply: Turn):
        """OCR for an LLM that cannot see: once per photo per conversation, cached."""
        photos = conv.images()[-MAX_IMAGES_PER_CONVERSATION:]
        if not photos or backend.sees_images:
            return
        from .stages.photos import read_photos

        conv.image_cache.update(
            (yield from show(reply, read_photos(photos, conv.image_cache, conv.language)))
        )

    def _vision_tools(self, conv: Conversation, user: Turn, reply: Turn):
        """Zero-shot labels or photo search when the message asks (vision/tools.py decides); the
        results go to the LLM as marked context, the gallery to the reply. Returns that context."""
        from .stages.vision import vision_tools
        from .vision import decide

        decision = decide(user.text, has_photos=bool(conv.images()))
        if decision.tool is None:
            return ""
        stage = vision_tools(
            decision,
            conv.images(),
            self.cfg.vision,
            self.models.vision,
            conv.image_cache,
            conv.language,
        )
        result = yield from show(reply, stage)
        if result is None:
            return ""
        reply.files += result.files
        reply.tools = result.info
        return result.context

    def _generate(self, conv, backend, messages, encodings, reply, t_start, fenced_question):
        """The LLM, streamed; returns its <draw> signal for the output projector (or None)."""
        from .stages.generate import generate

        stage = generate(
            backend,
            messages,
            encodings,
            key=conv.id,
            sampling=self.sampling,
            stop_event=conv.stop_event,
            lang=conv.language,
            t_start=t_start,
            fenced_question=fenced_question,
        )
        answer = yield from show(reply, stage)
        reply.text, reply.stopped, reply.metrics = answer.text, answer.stopped, answer.metrics
        return answer.signal
