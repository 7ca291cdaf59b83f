"""Who is asking: the owner behind a request (sign-in, bearer secret, or a fresh anonymous
owner), as the store names it, and when the request arrived.

The store never holds a usable secret: an owner is a hash of it. The browser's secret travels in
a signed cookie (ui/files.py); API clients send it as `Authorization: Bearer`.
"""

from __future__ import annotations

import hashlib
import secrets

from ..conversation import Conversation

RECEIVED_AT = "chatbot_received_at"  # request.state attribute: time.monotonic() on arrival
ANONYMOUS = "a-"  # the owner of an API client that sent no secret: it cannot prove who it is


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def owner_of(secret: str) -> str:
    """The store's name for an owner: a hash, so the database never holds a usable secret."""
    return "o-" + hashlib.sha256(secret.encode()).hexdigest()[:40]


def anonymous_owner() -> str:
    """A fresh owner for a client without a secret (kept for its session only)."""
    return ANONYMOUS + hashlib.sha256(new_secret().encode()).hexdigest()[:40]


def proven(owner: str | None) -> bool:
    """Whether the owner's client can prove itself on a file request (cookie, bearer, sign-in)."""
    return bool(owner) and not owner.startswith(ANONYMOUS)


def received_at(request) -> float | None:
    """When the request arrived (time.monotonic(), stamped by ui/files.py's middleware): for a
    queued /chat, when it was sent."""
    state = getattr(request, "state", None) if request is not None else None
    return getattr(state, RECEIVED_AT, None) if state is not None else None


def bearer(request: object | None) -> str | None:
    auth = (request.headers.get("authorization", "") if request is not None else "") or ""
    return (auth[7:].strip() or None) if auth.lower().startswith("bearer ") else None


def signed_in(request: object | None, profile=None) -> str | None:
    """The owner of a signed-in user: "Sign in with Hugging Face" on a Space (profile), or
    --auth (Gradio's login, request.username). Their conversations follow them to any browser."""
    if profile is not None and getattr(profile, "username", None):
        return owner_of(f"hf:{profile.username}")
    name = getattr(request, "username", None) if request is not None else None
    return owner_of(f"user:{name}") if name else None


def browser_language(request: object | None) -> str | None:
    """ "ko" or "en" from the browser's Accept-Language: the language of every message shown
    (errors, steps; like gr.I18n's labels) and the hint for speech recognition."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    first = header.split(",")[0].split("-")[0].strip().lower()
    return first if first in ("ko", "en") else None


def session_conv(conv: Conversation | None, request: object | None) -> Conversation:
    """An API caller's session conversation, owned by its signed-in user or bearer secret,
    else by a fresh anonymous owner kept for the session."""
    secret = bearer(request)
    owner = (
        signed_in(request)
        or (owner_of(secret) if secret else None)
        or (conv.owner if conv and conv.owner else anonymous_owner())
    )
    return conv if conv is not None and conv.owner == owner else Conversation(owner=owner)
