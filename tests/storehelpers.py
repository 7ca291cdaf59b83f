"""Helpers for tests/test_store.py: sample turns, comparisons, archive surgery, threads."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from pathlib import Path

from sqlalchemy import select

from chatbot.conversation import Attachment, Step, Turn
from chatbot.store import Store
from chatbot.store.db import TurnRow


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def exchange(tmp_path: Path, tag: str = "") -> tuple[Turn, Turn]:
    """A user turn with a photo and a PDF, and a reply with every kind of field."""
    cat, pdf, pic = (
        tmp_path / f"cat{tag}.png",
        tmp_path / f"report{tag}.pdf",
        tmp_path / f"out{tag}.png",
    )
    cat.write_bytes(b"\x89PNG cat" + tag.encode())
    pdf.write_bytes(b"%PDF-1.4 report" + tag.encode())
    pic.write_bytes(b"\x89PNG generated" + tag.encode())
    user = Turn(
        "user",
        "What is in this photo and report.pdf?",
        attachments=[
            Attachment("image", cat.name, str(cat), sha(cat.read_bytes())),
            Attachment("document", pdf.name, str(pdf), ""),
        ],
    )
    reply = Turn(
        "assistant",
        f"A cat in space [{pdf.name} p. 2].",
        steps=[
            Step(
                "retrieval", "📚 Retrieval", f"[{pdf.name} p. 2] (text, score 0.91): revenue…", True
            ),
            Step("llm", "💬 LLM", "", True),
        ],
        files=[str(pic)],
        metrics={"ttft_s": 0.25, "new_tokens": 12, "nested": {"a": [1, 2.5]}},
        card={"prompt": "a cat in a space suit", "seed": 7, "steps": 1, "negative": None},
    )
    return user, reply


def comparable(turn: Turn) -> dict:
    """A turn's content, with file paths replaced by the bytes they hold."""
    return {
        "role": turn.role,
        "text": turn.text,
        "error": turn.error,
        "stopped": turn.stopped,
        "metrics": turn.metrics,
        "card": turn.card,
        "steps": [(s.key, s.title, s.detail, s.done) for s in turn.steps],
        "attachments": [(a.kind, a.name, Path(a.path).read_bytes()) for a in turn.attachments],
        "files": [Path(p).read_bytes() for p in turn.files],
    }


def statuses(store: Store, conversation_id: str) -> list[str]:
    with store.session() as s:
        return list(
            s.scalars(
                select(TurnRow.status)
                .where(TurnRow.conversation_id == conversation_id)
                .order_by(TurnRow.position)
            )
        )


def blob_files(store: Store) -> set[Path]:
    return {p for p in (store.data_dir / "files").rglob("*") if p.is_file()}


def rewrite(archive: Path, change) -> bytes:
    """The archive's entries after change(entries) (a dict name -> bytes), as a new zip."""
    with zipfile.ZipFile(archive) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    change(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def edit_json(edit):
    def change(entries):
        doc = json.loads(entries["conversation.json"])
        edit(doc)
        entries["conversation.json"] = json.dumps(doc).encode()

    return change


def first_file(entries) -> str:
    return next(n for n in entries if n.startswith("files/"))


def run_threads(n: int, work) -> None:
    """work(i) in n threads started together; re-raise the first failure."""
    errors, barrier = [], threading.Barrier(n)

    def body(i):
        try:
            barrier.wait()
            work(i)
        except BaseException as e:  # reported below, with the thread's number
            errors.append((i, e))

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
