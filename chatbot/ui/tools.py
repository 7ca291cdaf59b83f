"""The app as MCP tools: what an agent (Claude Desktop, Cursor, another Gradio app) may ask of it.

`launch(mcp_server=True)` serves Gradio's MCP server at /gradio_api/mcp/ (streamable HTTP; /sse
for older clients). It offers every public endpoint as a tool, named by its function, described
by its docstring and typed by its annotations; here that is `Tools`' methods, registered with
`gr.api`. The endpoints for gradio_client programs (/chat, /open, ...) keep a conversation in a
gr.State that MCP calls cannot carry, so they are marked as not being tools (`hide_endpoints`).

Each tool is a typed skin over what the page and the API already do, with their checks, limits
and owners: ask_documents and describe_photo are one /chat turn in a new conversation of the
caller's, draw is /redraw's generator step, transcribe the listen stage's Whisper, and the
conversation tools /conversations and /open. The caller is an owner as for the API: its
`Authorization: Bearer` secret (Gradio's MCP server passes the client's headers on), or a fresh
anonymous owner per call. Files arrive as data: URLs (what MCP clients send) or as paths this
app's upload endpoint returned, never as other paths on the server.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
import warnings
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from ..config import MAX_FILE_MB
from ..context import ocr_key
from ..messages import UserError
from .conversations import ConversationHandlers
from .handlers import Handlers
from .owners import browser_language, session_conv

DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^;,]*)*?);base64,", re.I)
TOOL_NAMES = (
    "ask_documents",
    "describe_photo",
    "draw",
    "transcribe",
    "list_conversations",
    "open_conversation",
)


def data_url_name(found: re.Match) -> str:
    """The file name a data: URL gives (its `name=` parameter), else "file" and the extension of
    its type; reduced to a plain name (no folders, no leading dots)."""
    params = dict(p.split("=", 1) for p in found["params"].split(";") if "=" in p)
    name = params.get("name") or "file" + (mimetypes.guess_extension(found["mime"] or "") or "")
    return re.sub(r"[^\w.-]", "_", Path(name).name).lstrip(".") or "file"


def as_json(value) -> str:
    """What a tool returns: JSON text (an MCP client reads text; Korean stays readable)."""
    return json.dumps(value, ensure_ascii=False, indent=1)


def hide_endpoints(demo: gr.Blocks, tools: tuple[str, ...] = TOOL_NAMES) -> None:
    """Gradio's MCP server lists a public endpoint as a tool unless its function says it is
    another MCP kind (the `_mcp_type` that gr.mcp.resource and gr.mcp.prompt set): mark every
    public endpoint but the tools, so an agent sees the few tools written for it."""
    # the marked endpoints are not tools: Gradio's warning about their gr.State does not apply
    warnings.filterwarnings("ignore", "This MCP server includes a tool that has a gr.State")
    for block_fn in demo.fns.values():
        fn = getattr(block_fn.fn, "__func__", block_fn.fn)
        if block_fn.api_visibility == "public" and fn is not None and fn.__name__ not in tools:
            fn._mcp_type = "api"  # gradio_client's endpoint, not an MCP tool


class Tools:
    """One method per MCP tool; the method's name is the tool's, its docstring the description
    the agent reads (Gradio parses the Args: section), its annotations the input schema."""

    def __init__(self, handlers: Handlers, conversations: ConversationHandlers):
        self.h, self.c = handlers, conversations

    # ---- files in ------------------------------------------------------------------------
    def received(self, value: str, owner: str) -> str:
        """A file argument as a local path the pipeline may read: a data: URL is written into
        Gradio's cache (its bytes checked against MAX_FILE_MB before decoding), granted to the
        caller; a path must be an upload of this app's (Gradio's cache), which the handlers'
        checks then hold to its owner. Anything else is refused with a clear message."""
        if isinstance(value, dict):  # a FileData from a client that sends one
            value = value.get("path") or ""
        value = value.strip() if isinstance(value, str) else ""
        found = DATA_URL.match(value)
        if found:
            name = data_url_name(found)
            mb = (len(value) - found.end()) * 3 / 4 / 2**20
            if mb > MAX_FILE_MB:
                raise UserError("files.too_big", name=name, mb=mb, limit=MAX_FILE_MB)
            try:
                data = base64.b64decode(value[found.end() :], validate=True)
            except (binascii.Error, ValueError):
                raise UserError("tools.bad_data_url", name=name) from None
            return self._cached(data, name, owner)
        access = self.h.access
        real = Path(value).resolve() if value and "://" not in value else None
        if real is None or access is None or access.cache not in real.parents or not real.is_file():
            raise UserError("tools.file_argument", value=value[:80])
        return str(real)

    def _cached(self, data: bytes, name: str, owner: str) -> str:
        """Bytes as a file of Gradio's cache (named by a keyed hash, as Gradio names uploads),
        granted to `owner`, who alone may then send it or fetch it back."""
        from gradio.processing_utils import hash_bytes

        access = self.h.access
        folder = access.cache / hash_bytes(data)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        access.grant(path, owner)
        return str(path)

    def _caller(self, request: gr.Request):
        """The caller's new conversation (its owner from the bearer secret) and language."""
        return session_conv(None, request), browser_language(request)

    def _turn(self, text: str, files: list, request: gr.Request):
        """One /chat turn in a new conversation of the caller's: (reply, info, conv). A refusal
        (nothing answered: a bad file, a limit) becomes the tool's error (gr.Error)."""
        conv, lang = self._caller(request)
        try:  # every check before the conversation is made: a refusal keeps nothing
            paths = [self.received(f, conv.owner) for f in files]
            self.h.pipeline.check(conv, text, paths)  # chat_api refuses another owner's files
        except UserError as exc:
            raise gr.Error(exc.text(lang)) from None
        last = None
        for last in self.h.chat_api({"text": text, "files": paths}, conv, request):
            pass
        _, _, info, conv = last
        reply = conv.turns[-1] if conv.turns and conv.turns[-1].role == "assistant" else None
        if info["error"] and not (reply and reply.text):
            raise gr.Error(info["error"])
        return reply, info, conv

    @staticmethod
    def _chain(info: dict, conv) -> dict:
        """What every turn tool returns besides its own fields: the model chain's steps (each
        box's key and what it did), the conversation the turn was kept in, and any error."""
        return {
            "steps": [{"key": s["key"], "detail": s["detail"]} for s in info["steps"]],
            "conversation_id": conv.id,
            "error": info["error"],
        }

    # ---- the tools -----------------------------------------------------------------------
    def ask_documents(self, question: str, files: list[str], request: gr.Request = None) -> str:
        """Answer a question about documents, with the sentences of the documents that support
        the answer quoted and cited by page, slide, section or sheet. Reads PDF (scanned pages
        by OCR), DOCX, PPTX, HTML, Markdown, text, EPUB, CSV and XLSX; English or Korean.
        Returns JSON: answer, sources (each a citation and the quoted sentence), steps (what
        each box of the model chain did), conversation_id (the caller's new conversation,
        to continue with open_conversation) and error. A file is a data: URL
        (data:application/pdf;name=a.pdf;base64,...) up to 3 MB (an MCP request stops at 4 MiB),
        else the path that POST /gradio_api/upload returns.

        Args:
            question: the question, in English or Korean (at most 4,000 characters).
            files: 1 to 5 documents, each a data: URL or a path from this app's upload endpoint.
        """
        if not files:
            raise gr.Error(UserError("tools.no_files").text(browser_language(request)))
        reply, info, conv = self._turn(question, files, request)
        return as_json(
            {"answer": reply.text, "sources": info["sources"], **self._chain(info, conv)}
        )

    def describe_photo(self, photo: str, labels: str = "", request: gr.Request = None) -> str:
        """Describe a photo: the vision model's zero-shot label scores (CLIP or SigLIP), the
        text read in it (OCR, where the language model cannot see), and the language model's
        description. Returns JSON: description, labels (each a label and its score; empty where
        no vision model is installed, and steps say why), text_in_photo, steps, conversation_id,
        error. The photo is a data: URL (data:image/png;base64,...) up to 3 MB (an MCP request
        stops at 4 MiB), else the path that POST /gradio_api/upload returns.

        Args:
            photo: a JPEG, PNG, WebP, ...: a data: URL or a path from this app's upload endpoint.
            labels: candidate labels, comma-separated ("cat, dog, car"); empty: the app's own set.
        """
        reply, info, conv = self._turn("/labels " + labels.strip(), [photo], request)
        read = [conv.image_cache.get(ocr_key(att), "") for att in conv.images()]
        return as_json(
            {
                "description": reply.text,
                "labels": (info["tools"] or {}).get("labels", []),
                "text_in_photo": "\n".join(read),
                **self._chain(info, conv),
            }
        )

    def draw(
        self, prompt: str, seed: int, negative_prompt: str = "", request: gr.Request = None
    ) -> FileData:
        """Draw a picture from an English prompt with the app's diffusion generator. Returns the
        picture and the URL of its PNG (fetch it with the same Authorization header), whose
        text chunks carry the provenance: prompt, negative prompt, seed, steps, size, model.
        The same prompt and seed draw the same picture.

        Args:
            prompt: what to draw, in English (e.g. "a lighthouse at dusk, oil painting").
            seed: 0 to 2147483647; the same seed redraws the same picture.
            negative_prompt: what the picture should not show (may be empty).
        """
        # one output: Gradio's MCP server sends a lone picture as an image (several outputs
        # would reach the agent as their repr)
        conv, lang = self._caller(request)
        fields = {"prompt": prompt, "negative_prompt": negative_prompt, "seed": seed}
        try:  # checked before the conversation is made: a refusal keeps nothing
            picture = self.h.pipeline.new_request(fields)
        except UserError as exc:
            raise gr.Error(exc.text(lang)) from None
        last = None
        for last in self.h.redraw_api(picture, conv, request):
            pass
        _, shown, info, _ = last
        if info["error"] or not shown:  # no error and no picture: stopped while drawing
            raise gr.Error(info["error"] or UserError("tools.no_picture").text(lang))
        return FileData(path=shown[0])

    def transcribe(self, audio: str, language: str = "", request: gr.Request = None) -> str:
        """Transcribe speech with Whisper (faster-whisper): a voice note or the soundtrack of a
        video clip, English or Korean among Whisper's languages. Returns JSON: text, language
        (and the detector's confidence), duration_s and segments (start_s, end_s, text). The
        recording is a data: URL (data:audio/wav;base64,...) up to 3 MB (an MCP request stops at
        4 MiB), else the path that POST /gradio_api/upload returns.

        Args:
            audio: a WAV, MP3, OGG, M4A, WebM, MP4, ...: a data: URL or an uploaded path.
            language: "en", "ko", ... if known (used where detection is unsure); empty to detect.
        """
        conv, lang = self._caller(request)
        try:
            path = self.received(audio, conv.owner)
            self.h.check_files(conv, [path])
            t = self.h.pipeline.transcribe(path, language.strip() or lang)
        except UserError as exc:
            raise gr.Error(exc.text(lang)) from None
        return as_json(
            {
                "text": t.text,
                "language": t.language,
                "language_probability": round(t.language_probability, 3),
                "duration_s": round(t.duration_s, 2),
                "segments": [
                    {"start_s": round(a, 2), "end_s": round(b, 2), "text": s}
                    for a, b, s in t.segments
                ],
                "model": t.model,
            }
        )

    def list_conversations(self, request: gr.Request = None) -> str:
        """The caller's conversations, newest first. Returns JSON: a list of {id, title,
        updated}. Each owner sees only their own."""
        listing, _ = self.c.conversations_api(None, request)
        return as_json(listing)

    def open_conversation(self, conversation_id: str, request: gr.Request = None) -> str:
        """One of the caller's conversations: its turns on the path the owner sees. Returns
        JSON: a list of turns, each with role, text, error, steps, files, attachments (name,
        kind, sha256), image_request, id, parent, branch ([n, m] among alternatives), rating.

        Args:
            conversation_id: an id from list_conversations or from another tool's conversation_id.
        """
        turns, _ = self.c.open_api(conversation_id, None, request)
        return as_json(turns)
