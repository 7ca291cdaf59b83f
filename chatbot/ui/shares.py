"""Share links: a read-only page of a conversation as it was shown, for anyone holding the link.

    /share/<id>                     the snapshot as an HTML page (no script runs on it)
    /share/<id>/files/<sha256>.ext  a file that snapshot shows; 404 for any other

`SharePages` is an ASGI middleware in front of Gradio (ui/__init__.launch_options). It asks the
store (store/shares.py) and answers 404, the same bare "Not found", for an id that is unknown,
guessed, revoked or expired, and for a file the snapshot does not show. `ShareHandlers` are the
sidebar's Share / Revoke buttons and the API: /share (id, days -> {"id", "page"}), /shares,
/unshare (link id), each for the caller's own conversations and links only, and /copy_share
(link id): "continue as my own copy" (the page's link does the same: /?copy=<id>).
"""

from __future__ import annotations

import html
import mimetypes
import re

import gradio as gr

from ..messages import UserError, text
from .owners import browser_language, session_conv
from .render import turns_json

SHARE_ROUTE = re.compile(
    r"/share/([A-Za-z0-9_-]{43})(?:/files/([0-9a-f]{64})(?:\.[A-Za-z0-9]{1,8})?)?/?"
)
NOT_FOUND = b"Not found"
PAGE_POLICY = (
    b"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
)
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
    "section{border-radius:.6rem;padding:.5rem 1rem;margin:.8rem 0}"
    ".user{background:#fff4e6}.assistant{background:#f1f3f5}img{max-width:100%}"
    ".note{color:#666;font-size:.9rem}"
)


def page_html(shared, base: str, root: str = "") -> str:
    """The snapshot as a page: Markdown rendered with raw HTML off (text is escaped)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False})

    def url(sha: str) -> str:
        ext = (shared.files.get(sha) or {}).get("ext")
        return f"{base}/files/{sha}" + (f".{ext}" if ext else "")

    parts = []
    for rec in shared.records:
        body = [f"<h3>{'You' if rec['role'] == 'user' else 'Assistant'}</h3>"]
        for a in rec["attachments"]:
            name = html.escape(a["name"])
            body.append(
                f'<img src="{url(a["sha256"])}" alt="{name}">'
                if a["kind"] == "image"
                else f'<p><a href="{url(a["sha256"])}">📎 {name}</a></p>'
            )
        if rec["text"]:
            body.append(md.render(rec["text"]))
        body += [f'<img src="{url(sha)}" alt="picture">' for sha in rec["files"]]
        if rec.get("error"):
            body.append(f"<p>⚠️ {html.escape(rec['error'])}</p>")
        parts.append(f'<section class="{rec["role"]}">{"".join(body)}</section>')
    title = html.escape(shared.title or "Conversation")
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="robots" content="noindex"><style>{STYLE}</style></head><body>'
        f"<h1>{title}</h1><p class=note>A read-only copy, shared {shared.created}. "
        f'<a href="{root}/?copy={shared.id}">Continue as my own copy</a></p>'
        f"{''.join(parts)}</body></html>"
    )


async def respond(send, status: int, body: bytes, kind: bytes, extra=(), head=False) -> None:
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class SharePages:
    """The ASGI middleware that serves share links (everything else goes on to Gradio)."""

    def __init__(self, app, store=None):
        self.app, self.store = app, store

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/share/"):
            return await self.app(scope, receive, send)
        import anyio

        head = scope.get("method") == "HEAD"
        match = SHARE_ROUTE.fullmatch(path)
        if self.store is None or match is None or scope.get("method") not in ("GET", "HEAD"):
            return await respond(send, 404, NOT_FOUND, b"text/plain; charset=utf-8", head=head)
        link, sha = match.groups()
        base = f"{scope.get('root_path', '')}/share/{link}"
        found = await anyio.to_thread.run_sync(
            self.lookup, link, sha, base, scope.get("root_path", "")
        )
        if found is None:
            return await respond(send, 404, NOT_FOUND, b"text/plain; charset=utf-8", head=head)
        body, kind = found
        extra = [(b"content-security-policy", PAGE_POLICY if sha is None else b"sandbox")]
        return await respond(send, 200, body, kind, extra, head)

    def lookup(self, link: str, sha: str | None, base: str, root: str = ""):
        """(body, content type) for the page or the file, or None: not found."""
        from ..store import NotFound

        try:
            if sha is None:
                page = page_html(self.store.shared(link), base, root)
                return page.encode("utf-8"), b"text/html; charset=utf-8"
            path = self.store.shared_file(link, sha)
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return path.read_bytes(), kind.encode()
        except (NotFound, OSError):
            return None


class ShareHandlers:
    """The Share / Revoke buttons and /share, /shares, /unshare: the caller's own only."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def _conv(self, conv, request):
        return session_conv(conv, request) if request is not None else conv

    def share_api(self, conversation_id: str, days, conv, request: gr.Request):
        """A read-only link to one of the caller's conversations as it shows now ("" for the
        open one); days: it expires then (empty: until revoked). {"id", "page"}."""
        conv = self._conv(conv, request)
        lang = browser_language(request)
        target = conversation_id or (conv.id if conv.saved else "")
        days = None if days in (None, "", 0) else days
        try:
            link = self.pipeline.share(conv.owner, target, days)
        except UserError as exc:
            raise gr.Error(exc.text(lang)) from None
        except LookupError:  # NotFound
            raise gr.Error(text("conversation.not_found", lang, id=target)) from None
        return {"id": link, "page": f"/share/{link}"}, conv

    def shares_api(self, conv, request: gr.Request):
        """The caller's links, newest first."""
        conv = self._conv(conv, request)
        return self.pipeline.shares(conv.owner), conv

    def unshare_api(self, share_id: str, conv, request: gr.Request):
        """Revoke one of the caller's links: the page and its files answer 404 from now on."""
        conv = self._conv(conv, request)
        try:
            self.pipeline.unshare(conv.owner, share_id)
        except LookupError:
            raise gr.Error(
                text("share.not_found", browser_language(request), id=share_id)
            ) from None
        return self.pipeline.shares(conv.owner), conv

    def copy_api(self, share_id: str, conv, request: gr.Request):
        """Continue a share link as the caller's own conversation: its turns (as /open's), and
        later /chat calls continue it."""
        conv = self._conv(conv, request)
        try:
            new_id = self.pipeline.copy_shared(conv.owner, share_id)
        except UserError as exc:
            raise gr.Error(exc.text(browser_language(request))) from None
        except LookupError:
            raise gr.Error(
                text("share.not_found", browser_language(request), id=share_id)
            ) from None
        opened = self.pipeline.open(conv.owner, new_id)
        return turns_json(opened), opened

    def share_ui(self, conv, request: gr.Request):
        """The sidebar's Share button: the link to the open conversation, as a full URL."""
        if conv is None or not conv.saved:
            raise gr.Error(text("share.nothing_yet", conv.language if conv else None))
        found, _ = self.share_api("", None, conv, None)
        origin = (request.headers.get("origin") or "") if request is not None else ""
        return gr.update(value=origin + found["page"], visible=True)

    def revoke_ui(self, conv):
        """The sidebar's Revoke button: every link to the open conversation stops working."""
        if conv is None or not conv.saved:
            return gr.update(value="", visible=False)
        for link in self.pipeline.shares(conv.owner):
            if link["conversation"] == conv.id:
                self.pipeline.unshare(conv.owner, link["id"])
        return gr.update(value="", visible=False)
