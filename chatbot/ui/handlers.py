"""What each UI event does, as plain methods over the pipeline: testable without a browser.

Per-session state is one Conversation in a gr.State, so two browsers (or two
gradio_client.Client objects) never share files, history or encoded images. The chatbot
is re-rendered from the Conversation, so undo / retry / clear only edit the Conversation.
Nothing here reads the pipeline's internals: respond, redraw, forget and status are its
whole interface.
"""
from __future__ import annotations

import hashlib
import secrets
import time

import gradio as gr

from .. import validate
from ..conversation import Conversation, Turn, UserError
from ..pipeline import Pipeline


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def owner_of(secret: str) -> str:
    """The store's name for an owner: a hash, so the database never holds a usable secret."""
    return "o-" + hashlib.sha256(secret.encode()).hexdigest()[:40]


def bearer(request: gr.Request | None) -> str | None:
    auth = (request.headers.get("authorization", "") if request is not None else "") or ""
    return (auth[7:].strip() or None) if auth.lower().startswith("bearer ") else None


def signed_in(request: gr.Request | None, profile=None) -> str | None:
    """The owner of a signed-in user: "Sign in with Hugging Face" on a Space (profile), or
    --auth (Gradio's login, request.username). Their conversations follow them to any browser."""
    if profile is not None and getattr(profile, "username", None):
        return owner_of(f"hf:{profile.username}")
    name = getattr(request, "username", None) if request is not None else None
    return owner_of(f"user:{name}") if name else None


def browser_language(request: gr.Request | None) -> str | None:
    """"ko" or "en" from the browser's Accept-Language: the language of every message shown
    (errors, steps; like gr.I18n's labels) and the hint for speech recognition."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    first = header.split(",")[0].split("-")[0].strip().lower()
    return first if first in ("ko", "en") else None


def session_conv(conv: Conversation | None, request: gr.Request | None) -> Conversation:
    """An API caller's session conversation, owned by its signed-in user or bearer secret,
    else by a fresh anonymous owner kept for the session."""
    secret = bearer(request)
    owner = (signed_in(request) or (owner_of(secret) if secret else None)
             or (conv.owner if conv and conv.owner else owner_of(new_secret())))
    return conv if conv is not None and conv.owner == owner else Conversation(owner=owner)


def render(conv: Conversation | None) -> list[dict]:
    """Conversation -> Chatbot messages; each chain step is a collapsible 'thought'."""
    msgs: list[dict] = []
    for t in (conv.turns if conv else []):
        if t.role == "user":
            msgs += [{"role": "user", "content": {"path": a.path}} for a in t.attachments]
            if t.text:
                msgs.append({"role": "user", "content": t.text})
            continue
        for s in t.steps:
            msgs.append({"role": "assistant", "content": s.detail or "…",
                         "metadata": {"title": s.title, "status": "done" if s.done else "pending"}})
        if t.text:
            msgs.append({"role": "assistant", "content": t.text + (" ⏹" if t.stopped else "")})
        msgs += [{"role": "assistant", "content": {"path": f}} for f in t.files]
        if t.error:
            msgs.append({"role": "assistant", "content": f"⚠️ {t.error}"})
    return msgs


def api_reply(reply: Turn) -> tuple[str, list[str], dict]:
    """What /chat returns: text as text, files as downloadable files, the chain as JSON."""
    text = (reply.text + (f"\n\n⚠️ {reply.error}" if reply.error else "")).strip()
    info = {"steps": [{"title": s.title, "detail": s.detail, "done": s.done} for s in reply.steps],
            "stopped": reply.stopped, "error": reply.error, "metrics": reply.metrics, "image_request": reply.card,
            "tools": reply.tools, "sources": reply.sources}
    return text, list(reply.files), info


def header(status: dict) -> str:
    """The chain as the page's header: profile and why, what each box runs, loading state."""
    chain = status["llm"] if status["progress"] == "ready" else f"{status['llm']} — {status['error'] or status['progress']}"
    if status["progress"] == "ready" and not status["sees_images"]:
        chain += " · photos are read by OCR: no vision-language model is available offline"
    gen = status["generator"] or f"none on this profile ({status['generator_reason']})"
    return (f"**Profile `{status['profile']}`** ({status['reason']}) · model {status['progress']}\n\n"
            f"🖼️ encoder → projector → 💬 LLM: `{chain}`\n\n"
            f"🎨 output projector → generator: `{gen}`\n\n💾 {status.get('saving', '')}")


class Handlers:
    """One method per UI event; each takes and returns the session's Conversation."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    def _run(self, conv, text, files, draw=False, language=None):
        conv = conv or Conversation()   # the page's load event gives every browser its own owner first
        queued_at, conv.queued_at = conv.queued_at, None
        for reply in self.pipeline.respond(conv, text, files, draw=draw, queued_at=queued_at, language=language):
            yield conv, reply

    def mark_queued(self, conv):
        """Runs at once when a message is submitted (outside the queue), so a Stop pressed while
        the message still waits for the model can cancel it."""
        if conv is not None:
            conv.queued_at = time.monotonic()

    def chat_ui(self, message, conv, draw, request: gr.Request = None):
        try:
            text, files = validate.message(message)
        except UserError as exc:   # shown, and the conversation is left as it was
            error = exc.text(browser_language(request))
            yield render(conv) + [{"role": "assistant", "content": f"⚠️ {error}"}], gr.skip(), conv
            return
        for conv, _ in self._run(conv, text, files, draw, browser_language(request)):
            yield render(conv), None, conv

    def chat_api(self, message, conv, request: gr.Request = None):
        """Send one message ({"text": ..., "files": [...]}); stream the reply text, files and chain steps."""
        conv = session_conv(conv, request)
        try:
            text, files = validate.message(message)
        except UserError as exc:   # nothing is added to the conversation
            yield (*api_reply(Turn("assistant", error=exc.text(browser_language(request)))), conv)
            return
        for conv, reply in self._run(conv, text, files, language=browser_language(request)):
            yield (*api_reply(reply), conv)

    def redraw_ui(self, conv, prompt, negative, seed, steps):
        conv = conv or Conversation()
        edits = {"prompt": prompt, "negative_prompt": negative, "seed": seed, "steps": steps}
        for _ in self.pipeline.redraw(conv, edits):
            yield render(conv), conv

    def redraw_api(self, image_request: dict, conv, request: gr.Request = None):
        """Draw an image request again (fields of /chat's info["image_request"]) without asking the LLM."""
        conv = session_conv(conv, request)
        for reply in self.pipeline.redraw(conv, image_request):   # checked there: validate.image_edits
            yield (*api_reply(reply), conv)

    def card(self, conv) -> tuple | None:
        """The image card's fields for the last picture (None: leave the card as it is)."""
        req = conv.image_request if conv else None
        return None if req is None else (req.prompt, req.negative_prompt, req.seed, req.steps)

    def stop(self, conv):
        if conv is not None:
            conv.stop_requested_at = time.monotonic()
            conv.stop_event.set()

    def retry(self, conv):
        user = self.pipeline.undo(conv) if conv else None
        if user is None:
            yield render(conv), conv
            return
        for conv, _ in self._run(conv, user.text, [a.path for a in user.attachments], language=conv.language):
            yield render(conv), conv

    def undo(self, conv):
        user = self.pipeline.undo(conv) if conv else None
        box_value = {"text": user.text, "files": [a.path for a in user.attachments]} if user else None
        return render(conv), box_value, conv

    def clear(self, conv):
        if conv is not None:
            self.pipeline.forget(conv)
        return [], None, conv

    def read_aloud(self, conv):
        """The last reply, spoken (espeak-ng); a clear message where no synthesiser exists."""
        from ..voice_out import read_aloud
        reply = next((t for t in reversed(conv.turns) if t.role == "assistant" and t.text), None) if conv else None
        try:
            return read_aloud(reply.text if reply else "")
        except UserError as exc:
            raise gr.Error(exc.text(conv.language if conv else None)) from None

    def header(self) -> str:
        return header(self.pipeline.status())

    def status(self) -> dict:
        """What /status returns: the profile, why it was chosen, and the models' loading state."""
        return self.pipeline.status()

    def on_load(self) -> str:
        self.pipeline.start()
        return self.header()
