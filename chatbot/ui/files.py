"""Files served to their owner only, and accepted as input from their owner only.

Gradio serves every file it hands out at GET /gradio_api/file=<path>, to whoever has the URL.
OwnerFiles, an ASGI middleware in front of Gradio's routes, answers such a request only for the
file's owner, and 404 to anyone else (the answer for a name that does not exist, so a guess or a
stolen URL learns nothing):

- A file of the store (<data>/files/ab/cdef….png, named by its content, so predictable from the
  content or a sha256 in an export) is served from the store itself (a Gradio static path, never
  copied) to an owner the store lists for that file.
- A file of Gradio's cache (uploads, and what the handlers show: drawn pictures, page thumbnails,
  speech, exports) is served to the owners it was granted to: the uploader (granted as the upload
  answers) and the owner of the conversation that shows it (Access.show). An API client without a
  secret cannot prove who it is; what is shown to it is granted to anyone holding the URL (an
  unguessable keyed hash, as in plain Gradio). A cache file nobody was granted since this process
  started (left by an earlier run) is refused.

Who asks: a browser sends the cookie `chatbot-owner` (its owner, HMAC-signed with a key kept in
the data folder; the page load hands it out and sets it, SameSite=Strict), a program sends
`Authorization: Bearer <secret>`, a user signed in by --auth sends Gradio's login cookie, and on a
Space "Sign in with Hugging Face" its session.

The middleware also stamps each request with the time it arrived (RECEIVED_AT): a /chat that waits
in the queue knows when it was sent, so a /stop sent after it cancels it before it starts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path

from .owners import RECEIVED_AT, owner_of

OWNER_COOKIE = "chatbot-owner"
FILE_ROUTE = re.compile(r"/gradio_api/file(?:=|/)(.+)$")
UPLOAD_ROUTE = re.compile(r"/gradio_api/upload/?$")
CHECK_COPY_EVERY_S = 60.0  # how often a cached copy handed out again is checked (and touched)
NOT_FOUND = b"Not found"
STARTED = time.time()  # cache files older than this were left by an earlier run

# Sets the owner cookie from the page-load token. Embedded in another site's page (a Space's
# iframe on https), a SameSite=Strict cookie would never be sent: there it is partitioned instead.
SET_OWNER_COOKIE_JS = """(token) => {
  if (token) {
    const secure = location.protocol === "https:";
    const framed = window.self !== window.top;
    const site = framed && secure
      ? "SameSite=None; Secure; Partitioned"
      : "SameSite=Strict" + (secure ? "; Secure" : "");
    document.cookie = `OWNER_COOKIE=${token}; Path=/; Max-Age=31536000; ${site}`;
  }
  return [];
}""".replace("OWNER_COOKIE", OWNER_COOKIE)


def is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class OwnerTokens:
    """owner <-> the browser's cookie value: `owner.signature` (HMAC-SHA256)."""

    def __init__(self, secret: str | None = None):
        base = (secret or secrets.token_urlsafe(32)).encode()  # no data folder: valid until restart
        self.key = hmac.new(base, b"chatbot owner cookie", hashlib.sha256).digest()

    def _mac(self, owner: str) -> str:
        digest = hmac.new(self.key, owner.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, owner: str) -> str:
        return f"{owner}.{self._mac(owner)}" if owner else ""

    def owner(self, token: str | None) -> str | None:
        owner, _, mac = (token or "").rpartition(".")
        return owner if owner and hmac.compare_digest(mac, self._mac(owner)) else None


class Access:
    """Who may fetch, or send back as input, which file; shared by the handlers (grants) and the
    middleware (checks). Thread-safe: handlers run in Gradio's worker threads."""

    def __init__(self, store=None, secret: str | None = None, cache_dir: str | Path | None = None):
        from gradio.utils import get_upload_folder

        self.store = store
        self.tokens = OwnerTokens(secret)
        self.cache = Path(os.path.realpath(cache_dir or get_upload_folder()))
        self.store_root = Path(os.path.realpath(store.blobs.root)) if store is not None else None
        self._lock = threading.Lock()
        self._owners: dict[str, set[str]] = {}  # cache file -> owners it was granted to
        self._public: set[str] = set()  # cache files shown to a client without a secret
        self._unclaimed: dict[str, int] = {}  # uploads by clients without a secret, not yet sent
        self._copies: dict[
            tuple, tuple[str, float]
        ] = {}  # (source, mtime, size) -> (copy, checked at)
        self._prune_at = 1024

    # ---- grants (handlers) ------------------------------------------------------------
    def grant(self, path: str | Path, owner: str | None, public: bool = False) -> None:
        key = os.path.realpath(path)
        with self._lock:
            if owner:
                self._owners.setdefault(key, set()).add(owner)
            if public:
                self._public.add(key)
            if len(self._owners) + len(self._public) > self._prune_at:
                self._prune()

    def uploaded(self, path: str | Path) -> None:
        """An upload by a client without a secret: the next message that sends it, by whoever
        sent the upload (they hold its bytes), makes it theirs (foreign)."""
        key = os.path.realpath(path)
        with self._lock:
            self._unclaimed[key] = self._unclaimed.get(key, 0) + 1

    def _prune(self) -> None:
        """Forget files Gradio's cache sweep removed (called with the lock held)."""
        for key in [k for k in self._owners if not os.path.exists(k)]:
            del self._owners[key]
        self._public = {k for k in self._public if os.path.exists(k)}
        self._unclaimed = {k: n for k, n in self._unclaimed.items() if os.path.exists(k)}
        self._copies = {k: v for k, v in self._copies.items() if os.path.exists(v[0])}
        self._prune_at = max(1024, 2 * (len(self._owners) + len(self._public)))

    def show(self, path: str, owner: str | None, proven: bool = True) -> str:
        """The path to hand to Gradio for a file shown to `owner`: a store file as it is (served
        from the store, owner-checked) when the client can prove it is the owner; anything else
        as a copy in Gradio's cache granted to the owner, and to anyone if not `proven`."""
        if not path or "://" in str(path):
            return path
        real = Path(os.path.realpath(path))
        if proven and self.store_root is not None and is_within(real, self.store_root):
            return path
        if is_within(real, self.cache):
            copy = str(real)
        else:
            copy = self._copy(real)
            if copy is None:  # gone: Gradio reports it as it always did
                return path
        self.grant(copy, owner, public=not proven)
        return copy

    def _copy(self, source: Path) -> str | None:
        """Gradio's own copy of the file into its cache (the same name Gradio would give it),
        made once per file version; a copy handed out again is touched so the sweep spares it."""
        from gradio.processing_utils import save_file_to_cache

        try:
            st = source.stat()
        except OSError:
            return None
        key, now = (str(source), st.st_mtime_ns, st.st_size), time.monotonic()
        with self._lock:
            known = self._copies.get(key)
        if known and now - known[1] < CHECK_COPY_EVERY_S:
            return known[0]
        if known and os.path.exists(known[0]):
            os.utime(known[0])
            copy = known[0]
        else:
            copy = save_file_to_cache(source, str(self.cache))
        with self._lock:
            self._copies[key] = (copy, now)
        return copy

    # ---- inputs (handlers) -------------------------------------------------------------
    def foreign(self, owner: str, paths: list[str]) -> str | None:
        """The first of `paths` (a message's files) that is another owner's upload or output in
        Gradio's cache, else None. An upload by a client without a secret becomes the sender's:
        the first sender after each such upload (Gradio names uploads by a keyed hash of their
        bytes, so two clients uploading the same photo share one path). Store files are checked
        by History.check_files."""
        for p in paths:
            real = os.path.realpath(p)
            if not is_within(Path(real), self.cache):
                continue
            with self._lock:
                owners = self._owners.setdefault(real, set())
                unclaimed = self._unclaimed.get(real, 0)
                if owners and owner not in owners and not unclaimed:
                    return p
                if unclaimed:
                    self._unclaimed[real] = unclaimed - 1
                if owner:
                    owners.add(owner)
        return None

    # ---- checks (middleware) -----------------------------------------------------------
    def requesters(
        self, headers: dict[str, str], app=None, session: dict | None = None
    ) -> set[str]:
        """Every owner the request proves: browser cookie, bearer secret, signed-in user."""
        owners: set[str] = set()
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header proves nothing
            cookies = SimpleCookie()
        if OWNER_COOKIE in cookies and (owner := self.tokens.owner(cookies[OWNER_COOKIE].value)):
            owners.add(owner)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and auth[7:].strip():
            owners.add(owner_of(auth[7:].strip()))
        tokens = getattr(app, "tokens", None) if app is not None else None
        if tokens:
            cookie_id = getattr(app, "cookie_id", "")
            for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
                if name in cookies and (user := tokens.get(cookies[name].value)):
                    owners.add(owner_of(f"user:{user}"))
        try:  # "Sign in with Hugging Face" on a Space keeps the user in the session
            hf_user = (
                (session or {}).get("oauth_info", {}).get("userinfo", {}).get("preferred_username")
            )
        except AttributeError:
            hf_user = None
        if hf_user:
            owners.add(owner_of(f"hf:{hf_user}"))
        return owners

    def may_read(self, requested: str, owners: set[str]) -> bool | None:
        """True: serve it; False: 404; None: not ours to judge (Gradio's own rules apply)."""
        real = Path(os.path.realpath(requested))
        if self.store_root is not None and is_within(real, self.store_root):
            sha = self.store.blobs.sha_of(real)
            if not sha:
                return False
            for owner in owners:
                try:
                    if os.path.realpath(self.store.path(owner, sha)) == str(real):
                        return True
                except Exception:  # NotFound, or a store error: not served
                    continue
            return False
        if is_within(real, self.cache):
            key = str(real)
            with self._lock:
                granted = self._owners.get(key)
                public = key in self._public
            if public or (granted and granted & owners):
                return True
            if granted:
                return False
            # granted to nobody: fresh (an example, an upload of a client without a secret), or
            # left over from an earlier run
            try:
                return real.stat().st_mtime >= STARTED
            except OSError:
                return False
        return None


class OwnerFiles:
    """The ASGI middleware: file requests checked by Access, uploads granted to their uploader,
    every request stamped with its arrival time."""

    def __init__(self, app, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})[RECEIVED_AT] = time.monotonic()
        path, method = scope.get("path", ""), scope.get("method", "GET")
        match = FILE_ROUTE.search(path) if method in ("GET", "HEAD") else None
        if match:
            return await self._file(match.group(1), scope, receive, send)
        if method == "POST" and UPLOAD_ROUTE.search(path):
            return await self._upload(scope, receive, send)
        return await self.app(scope, receive, send)

    def _owners(self, scope) -> set[str]:
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        return self.access.requesters(headers, scope.get("app"), scope.get("session"))

    async def _file(self, requested: str, scope, receive, send):
        import anyio

        verdict = await anyio.to_thread.run_sync(
            self.access.may_read, requested, self._owners(scope)
        )
        if verdict is False:
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(NOT_FOUND)).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": NOT_FOUND if scope["method"] == "GET" else b"",
                }
            )
            return

        async def send_hardened(message):
            if (
                message["type"] == "http.response.start"
            ):  # an uploaded page or SVG never runs script here
                headers = list(message.get("headers", []))
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"").lower()
                headers.append((b"x-content-type-options", b"nosniff"))
                if any(t in kind for t in (b"html", b"svg", b"xml")):
                    headers.append((b"content-security-policy", b"sandbox; script-src 'none'"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_hardened)

    async def _upload(self, scope, receive, send):
        """Gradio answers an upload with the list of paths it wrote: granted to the uploader
        before the answer leaves, so the next message can use them at once (an uploader without
        a secret: claimable by its next message, Access.foreign)."""
        owners = self._owners(scope)
        start, chunks = None, []

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start and start.get("status") == 200:
                try:
                    paths = json.loads(body)
                except ValueError:
                    paths = []
                for p in paths if isinstance(paths, list) else []:
                    if isinstance(p, str):
                        for owner in owners:
                            self.access.grant(p, owner)
                        if not owners:
                            self.access.uploaded(p)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
