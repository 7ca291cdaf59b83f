"""What each UI event does, as plain methods over the pipeline: testable without a browser.

Per-session state is one Conversation in a gr.State, so two browsers (or two
gradio_client.Client objects) never share files, history or encoded images. The chatbot
is re-rendered from the Conversation, so undo / retry / clear only edit the Conversation.
Nothing here reads the pipeline's internals: respond, redraw, forget and status are its
whole interface.
"""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from .. import validate
from ..config import STREAM_UPDATE_S, STREAM_UPDATES_PER_S
from ..conversation import Conversation, Turn
from ..limits import OwnerTurns
from ..messages import UserError, text
from ..messages import text as say
from ..pipeline import Pipeline
from .owners import browser_language, proven, received_at, session_conv
from .render import render, same


def api_reply(reply: Turn, show=same) -> tuple[str, list[str], dict]:
    """What /chat returns: text as text, files as downloadable files, the chain as JSON."""
    text = (reply.text + (f"\n\n⚠️ {reply.error}" if reply.error else "")).strip()
    info = {
        "steps": [
            {"key": s.key, "title": s.title, "detail": s.detail, "done": s.done}
            for s in reply.steps
        ],
        "stopped": reply.stopped,
        "error": reply.error,
        "metrics": reply.metrics,
        "image_request": reply.card,
        "tools": reply.tools,
        "sources": reply.sources,
    }
    return text, [show(f) for f in reply.files], info


def header(status: dict, lang: str | None = None) -> str:
    """The chain as the page's header: profile and why, what each box runs, loading state
    (labels in the reader's language; the reasons are the config's own words)."""
    chain = (
        status["llm"]
        if status["progress"] == "ready"
        else f"{status['llm']} — {status['error'] or status['progress']}"
    )
    if status["progress"] == "ready" and not status["sees_images"]:
        chain += text("header.ocr", lang)
    if status.get("engine_reason"):
        chain += text("header.engine", lang, reason=status["engine_reason"])
    gen = status["generator"] or text(
        "header.no_generator", lang, reason=status["generator_reason"]
    )
    return text(
        "header.chain",
        lang,
        profile=status["profile"],
        reason=status["reason"],
        progress=status["progress"],
        chain=chain,
        generator=gen,
        saving=status.get("saving", ""),
    )


def paced(replies, interval=lambda: STREAM_UPDATE_S):
    """The replies, new tokens sent at most once per interval() seconds (STREAM_UPDATE_S, longer
    while many replies stream: STREAM_UPDATES_PER_S): each update costs the server a diff and a
    send, and a reader sees no difference at a faster pace. A new step, and the last reply,
    always go out at once, so progress never waits behind a slow stage."""
    last, steps, held = 0.0, -1, None
    try:
        for reply in replies:
            now = time.monotonic()
            if len(reply.steps) != steps or now - last >= interval():
                last, steps, held = now, len(reply.steps), None
                yield reply
            else:
                held = reply
        if held is not None:
            yield held
    finally:
        # a client gone or a job cancelled reaches the pipeline at once (Handlers._guard)
        replies.close()


class Handlers:
    """One method per UI event; each takes and returns the session's Conversation."""

    def __init__(self, pipeline: Pipeline, access=None):
        self.pipeline = pipeline
        self.access = (
            access  # ui/files.Access: files handed out and taken in by owner (None: as they are)
        )
        self.owner_turns = OwnerTurns()  # replies running per owner (MAX_CHATS_PER_OWNER)

    def shower(self, conv):
        """show(path) for the files of this conversation: granted to its owner (ui/files.py)."""
        if self.access is None or conv is None:
            return same
        owner = conv.owner
        return lambda path: self.access.show(path, owner, proven(owner))

    def check_files(self, conv, files) -> None:
        """Another owner's file, sent as this message's file (a path into the store, or another
        session's upload or picture in Gradio's cache), is refused before anything is kept."""
        self.pipeline.check_owner(conv, files)
        owner = conv.owner if conv else ""
        other = self.access.foreign(owner, files) if self.access and files else None
        if other is not None:
            raise UserError("history.not_your_file", name=Path(other).name)

    def _guard(self, conv, run, outlive: bool = False):
        """The replies of run; if the client goes away or cancels its job (Gradio closes this
        generator), the model is stopped and the reply kept, marked stopped; or, outlive=True
        (a page: it may be reloading), the reply goes on being written without it, until it
        ends or a Stop (the page that comes back watches it: follow_ui)."""
        reply = None
        try:
            for reply in run:
                yield reply
        except GeneratorExit:
            if outlive and reply is not None and not conv.stop_event.is_set():
                self.pipeline.carry_on(conv, run)
                raise
            conv.stop_event.set()
            run.close()
            if reply is not None:
                self.pipeline.interrupted(conv, reply)
            raise

    def stream(self, conv, replies, outlive: bool = False):
        """(conv, reply) as the replies grow, paced; a client gone stops the model (outlive: a
        page gone leaves it writing)."""
        for reply in paced(self._guard(conv, replies, outlive), self.update_interval):
            yield conv, reply

    def _run(self, conv, text, files, draw=False, language=None, queued_at=None, outlive=False):
        conv = (
            conv or Conversation()
        )  # the page's load event gives every browser its own owner first
        queued_at = queued_at if queued_at is not None else conv.queued_at
        conv.queued_at = None
        owner = conv.owner or ""
        if not self.owner_turns.enter(owner):  # one person cannot take every slot
            limit = self.owner_turns.limit
            yield conv, Turn("assistant", error=say("busy.owner", language, limit=limit))
            return
        try:
            yield from self.stream(
                conv,
                self.pipeline.respond(
                    conv, text, files, draw=draw, queued_at=queued_at, language=language
                ),
                outlive,
            )
        finally:
            self.owner_turns.leave(owner)

    def update_interval(self) -> float:
        """Seconds between a streaming reply's updates: STREAM_UPDATE_S, or longer while so many
        replies stream that they would send more than STREAM_UPDATES_PER_S together."""
        return max(STREAM_UPDATE_S, self.owner_turns.total() / STREAM_UPDATES_PER_S)

    def chats_at_once(self) -> int:
        """How many chats the queue lets stream at once (config.ModelConfig.chats_at_once)."""
        return self.pipeline.cfg.llm.chats_at_once

    def mark_queued(self, conv):
        """Runs at once when a message is submitted (outside the queue), so a Stop pressed while
        the message still waits for the model can cancel it."""
        if conv is not None:
            conv.queued_at = time.monotonic()

    def chat_ui(self, message, conv, draw, request: gr.Request = None):
        try:
            text, files = validate.message(message)
            self.check_files(conv, files)
        except UserError as exc:  # shown, and the conversation is left as it was
            error = exc.text(browser_language(request))
            yield (
                render(conv, self.shower(conv)) + [{"role": "assistant", "content": f"⚠️ {error}"}],
                gr.skip(),
                conv,
            )
            return
        for conv, reply in self._run(
            conv, text, files, draw, browser_language(request), received_at(request), True
        ):  # outlive: a reload does not stop the reply
            shown = render(conv, self.shower(conv))
            if reply.error and not any(t is reply for t in conv.turns):  # refused: not kept
                shown.append({"role": "assistant", "content": f"⚠️ {reply.error}"})
            yield shown, None, conv

    def chat_api(self, message, conv, request: gr.Request = None):
        """Send one message ({"text": ..., "files": [...]}); stream the reply text, files and
        chain steps."""
        conv = session_conv(conv, request)
        show = self.shower(conv)
        try:
            text, files = validate.message(message)
            self.check_files(conv, files)
        except UserError as exc:  # nothing is added to the conversation
            yield (
                *api_reply(Turn("assistant", error=exc.text(browser_language(request))), show),
                conv,
            )
            return
        for conv, reply in self._run(
            conv, text, files, language=browser_language(request), queued_at=received_at(request)
        ):
            yield (*api_reply(reply, show), conv)

    def redraw_ui(self, conv, prompt, negative, seed, steps):
        conv = conv or Conversation()
        edits = {"prompt": prompt, "negative_prompt": negative, "seed": seed, "steps": steps}
        for _ in self._guard(conv, self.pipeline.redraw(conv, edits)):
            yield render(conv, self.shower(conv)), conv

    def redraw_api(self, image_request: dict, conv, request: gr.Request = None):
        """Draw an image request again (fields of /chat's info["image_request"]) without asking
        the LLM."""
        conv = session_conv(conv, request)
        show = self.shower(conv)
        redraw = self.pipeline.redraw(
            conv, image_request, received_at(request), browser_language(request)
        )
        for reply in self._guard(
            conv, redraw
        ):  # checked there: validate.image_edits, a Stop while queued
            yield (*api_reply(reply, show), conv)

    def card(self, conv) -> tuple | None:
        """The image card's fields for the last picture (None: leave the card as it is)."""
        req = conv.image_request if conv else None
        return None if req is None else (req.prompt, req.negative_prompt, req.seed, req.steps)

    def stop(self, conv, request: gr.Request = None):
        """/stop: stop this session's reply, and every message of it still waiting in the queue
        (a /chat or /redraw sent before this Stop then runs no model: its reply says so)."""
        conv = session_conv(conv, request) if request is not None else conv
        if conv is not None:
            conv.stop_requested_at = time.monotonic()
            conv.stop_event.set()
            run = self.pipeline.following(conv.owner, conv.id)  # asked for by another session
            if run is not None and run.conv is not conv:
                run.conv.stop_requested_at = time.monotonic()
                run.conv.stop_event.set()
        return conv

    def follow_ui(self, conv):
        """A page that opens a conversation whose reply another tab of the owner is writing:
        it shows the reply live from where it is; the page then holds that conversation, so its
        Stop stops the reply and its next message continues it."""
        run = self.pipeline.following(conv.owner, conv.id) if conv is not None else None
        if run is None or run.conv is conv:
            yield gr.skip(), conv
            return
        for reply in paced(run.follow()):
            yield render(run.conv, self.shower(run.conv)), run.conv

    def follow_api(self, conversation_id: str, conv, request: gr.Request = None):
        """Watch the reply being written on one of the caller's conversations (asked for by
        another tab or client of the same owner): it streams from where it is, as /chat does,
        until it ends; this client's later calls continue that conversation, and its /stop
        stops the reply. Leaving stops nothing."""
        conv = session_conv(conv, request)
        run = self.pipeline.following(conv.owner, conversation_id)
        if run is None:
            raise gr.Error(text("live.nothing", browser_language(request), id=conversation_id))
        show = self.shower(run.conv)
        for reply in paced(run.follow()):
            yield (*api_reply(reply, show), run.conv)

    def retry(self, conv):
        """A new reply to the last message, beside the old one (‹ 2/2 ›: both are kept)."""
        if conv is None:
            yield render(conv), conv
            return
        for conv, _ in self.stream(conv, self.pipeline.regenerate(conv, language=conv.language)):
            yield render(conv, self.shower(conv)), conv
        yield render(conv, self.shower(conv)), conv

    def undo(self, conv):
        user = self.pipeline.undo(conv) if conv else None
        show = self.shower(conv)
        box_value = (
            {"text": user.text, "files": [show(a.path) for a in user.attachments]} if user else None
        )
        return render(conv, show), box_value, conv

    def clear(self, conv):
        if conv is not None:
            self.pipeline.forget(conv)
        return [], None, conv

    def read_aloud(self, conv):
        """The last reply, spoken (espeak-ng); a clear message where no synthesiser exists."""
        from ..voice_out import read_aloud

        reply = (
            next((t for t in reversed(conv.turns) if t.role == "assistant" and t.text), None)
            if conv
            else None
        )
        try:
            return self.shower(conv)(read_aloud(reply.text if reply else ""))
        except UserError as exc:
            raise gr.Error(exc.text(conv.language if conv else None)) from None

    def header(self, request: gr.Request = None) -> str:
        return header(self.pipeline.status(), browser_language(request))

    def status(self) -> dict:
        """What /status returns: the profile, why it was chosen, and the models' loading state."""
        return self.pipeline.status()

    def on_load(self, request: gr.Request = None) -> str:
        self.pipeline.start()
        return self.header(request)
