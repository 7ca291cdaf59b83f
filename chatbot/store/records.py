"""Turns <-> records: the plain, JSON-ready dicts stored in the turns table and in archives.

A record holds what a turn needs to be shown and continued; files are referred to by
sha256 (the store keeps their bytes), so a record carries no local paths. Loaded images
(Attachment.image) and parsed documents are not stored: the pipeline reloads them lazily
from the attachment's path.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

from chatbot.conversation import Attachment, Step, Turn
from chatbot.messages import UserError

from ..config import MAX_FEEDBACK_COMMENT_CHARS, MAX_OWNER_CHARS, MAX_TITLE_CHARS
from .db import ROLES, STATUSES, TurnRow
from .files import is_sha256

KINDS = ("image", "document", "table")
FIELDS = (
    "role",
    "text",
    "status",
    "error",
    "steps",
    "metrics",
    "card",
    "attachments",
    "files",
    "rating",
    "comment",
)
RATINGS = ("up", "down")  # 👍 / 👎; None: not rated
INTERRUPTED_NOTE = "The server stopped while this reply was being written; the text so far is kept."

# keep_file(path, name, sha256_hint) -> sha256 of the stored copy
KeepFile = Callable[[str, str, str], str]


def status_of(turn: Turn, status: str | None = None) -> str:
    """The given status, or the one the turn shows: stopped, failed or done."""
    if status is None:
        status = "stopped" if turn.stopped else "failed" if turn.error else "done"
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status


def jsonable(value):
    """Metrics and cards as plain JSON: numpy scalars become numbers, NaN becomes None,
    anything else unknown becomes its text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        return jsonable(value.item())
    return str(value)


def turn_record(turn: Turn, status: str | None, keep_file: KeepFile) -> dict:
    """A turn as a record; keep_file stores each attachment and generated file."""
    if turn.role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {turn.role!r}")
    attachments = [
        {"kind": a.kind, "name": a.name, "sha256": keep_file(a.path, a.name, a.sha256)}
        for a in turn.attachments
    ]
    files = [keep_file(p, Path(p).name, "") for p in turn.files]
    return {
        "role": turn.role,
        "text": turn.text or "",
        "status": status_of(turn, status),
        "error": turn.error,
        "steps": [
            {"key": s.key, "title": s.title, "detail": s.detail, "done": bool(s.done)}
            for s in turn.steps
        ],
        "metrics": jsonable(turn.metrics or {}),
        "card": jsonable(turn.card),
        "attachments": attachments,
        "files": files,
        "rating": turn.rating if turn.rating in RATINGS else None,
        "comment": (turn.comment or None) if turn.rating in RATINGS else None,
    }


def turn_from_record(record: dict, locate: Callable[[str], Path]) -> Turn:
    """A Turn again; locate(sha256) gives the stored file's path. image stays None."""
    return Turn(
        role=record["role"],
        text=record["text"],
        attachments=[
            Attachment(a["kind"], a["name"], str(locate(a["sha256"])), a["sha256"])
            for a in record["attachments"]
        ],
        # a step saved before steps had keys reads back with key "" (an older database)
        steps=[Step(s.get("key", ""), s["title"], s["detail"], s["done"]) for s in record["steps"]],
        files=[str(locate(sha)) for sha in record["files"]],
        error=record["error"],
        stopped=record["status"] in ("stopped", "interrupted"),
        metrics=dict(record["metrics"]),
        card=record["card"],
        rating=record.get("rating"),
        comment=record.get("comment") or "",
    )


def row_record(row: TurnRow) -> dict:
    """A stored row as a record (the same dict an archive holds)."""
    return {k: getattr(row, k) for k in FIELDS}


def shas_of(record: dict) -> set[str]:
    """Every file a record points to."""
    return {a["sha256"] for a in record["attachments"]} | set(record["files"])


def default_title(text: str, cap: int = MAX_TITLE_CHARS) -> str:
    """The first words of a message, on one line, cut to `cap` (StoreLimits.max_title_chars)."""
    line = re.sub(r"\s+", " ", text or "").strip()
    return line if len(line) <= cap else line[: cap - 1].rstrip() + "…"


# ---- what callers pass --------------------------------------------------------------------
def check_owner(owner) -> None:
    """Owners are opaque, but never empty: an empty owner would be everyone's."""
    if not isinstance(owner, str) or not owner or len(owner) > MAX_OWNER_CHARS:
        raise ValueError(
            f"owner must be a non-empty string of at most {MAX_OWNER_CHARS} "
            f"characters (MAX_OWNER_CHARS)"
        )


def check_title(title: str, cap: int = MAX_TITLE_CHARS) -> str:
    """A title typed by the user: one line, within `cap` (MAX_TITLE_CHARS; never cut
    silently)."""
    title = re.sub(r"\s+", " ", title or "").strip()
    if len(title) > cap:
        raise UserError("store.title_too_long", chars=len(title), limit=cap)
    return title


# ---- records from outside (archives) ------------------------------------------------------
def check_record(raw) -> dict:
    """Validate an untrusted record; returns it with only the known fields. Raises ValueError
    saying what is wrong. A turn saved mid-stream comes back as interrupted."""
    if not isinstance(raw, dict):
        raise ValueError("a turn is not an object")
    rec = {k: raw.get(k) for k in FIELDS}
    expect(rec["role"] in ROLES, f"role must be one of {ROLES}")
    expect(isinstance(rec["text"], str), "text must be a string")
    expect(rec["status"] in STATUSES, f"status must be one of {STATUSES}")
    expect(rec["error"] is None or isinstance(rec["error"], str), "error must be a string or null")
    expect(isinstance(rec["metrics"], dict), "metrics must be an object")
    expect(rec["card"] is None or isinstance(rec["card"], dict), "card must be an object or null")
    expect(
        isinstance(rec["steps"], list)
        and all(
            isinstance(s, dict)
            and isinstance(s.get("title"), str)
            and isinstance(s.get("detail"), str)
            and isinstance(s.get("done"), bool)
            and isinstance(s.get("key", ""), str)
            for s in rec["steps"]
        ),
        "steps must be a list of {key, title, detail, done}",
    )
    rec["steps"] = [
        {"key": s.get("key", ""), **{k: s[k] for k in ("title", "detail", "done")}}
        for s in rec["steps"]
    ]
    expect(
        isinstance(rec["attachments"], list)
        and all(
            isinstance(a, dict)
            and a.get("kind") in KINDS
            and isinstance(a.get("name"), str)
            and is_sha256(a.get("sha256"))
            for a in rec["attachments"]
        ),
        "attachments must be a list of {kind, name, sha256}",
    )
    rec["attachments"] = [{k: a[k] for k in ("kind", "name", "sha256")} for a in rec["attachments"]]
    expect(
        isinstance(rec["files"], list) and all(is_sha256(f) for f in rec["files"]),
        "files must be a list of sha256 strings",
    )
    expect(rec["rating"] in (None, *RATINGS), f"rating must be null or one of {RATINGS}")
    expect(
        rec["comment"] is None
        or (isinstance(rec["comment"], str) and len(rec["comment"]) <= MAX_FEEDBACK_COMMENT_CHARS),
        f"comment must be null or a string of at most {MAX_FEEDBACK_COMMENT_CHARS} characters "
        f"(MAX_FEEDBACK_COMMENT_CHARS)",
    )
    if rec["status"] == "streaming":
        rec["status"], rec["error"] = "interrupted", rec["error"] or INTERRUPTED_NOTE
    return rec


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
