"""The conversation as the page shows it and as the API returns it: Chatbot messages (each step
a collapsible thought, ‹ n/m › after a message with alternatives), the thumbs of its replies,
and the turns as JSON (/open, /tree, /branch, /feedback)."""

from __future__ import annotations

import re

import gradio as gr

from ..conversation import Conversation, Turn


def same(path: str) -> str:
    return path


def mark(n_of_m: tuple[int, int] | None) -> str:
    """' ‹ n/m ›' after a message that has alternatives (BRANCH_MARK takes it off an edit)."""
    return f"  ‹ {n_of_m[0]}/{n_of_m[1]} ›" if n_of_m else ""


BRANCH_MARK = re.compile(r"\s*‹ \d+/\d+ ›\s*$")


def render(conv: Conversation | None, show=same) -> list[dict]:
    """Conversation -> Chatbot messages; each chain step is a collapsible 'thought'. show(path):
    the path to hand out for a file (Handlers.shower: owner-checked serving)."""
    return rendered(conv, show)[0]


def rendered(conv: Conversation | None, show=same) -> tuple[list[dict], list[int]]:
    """The Chatbot messages of the visible path, and for each message the index of its turn
    (what an edit or a 👍 on message i is about). A turn with alternatives ends in ‹ n/m ›."""
    msgs: list[dict] = []
    owners: list[int] = []
    marks = conv.branch_marks() if conv else {}
    for i, t in enumerate(conv.turns if conv else []):
        n_of_m = marks.get(t.node)
        if t.role == "user":
            msgs += [{"role": "user", "content": {"path": show(a.path)}} for a in t.attachments]
            if t.text or n_of_m:
                msgs.append({"role": "user", "content": t.text + mark(n_of_m)})
            owners += [i] * (len(msgs) - len(owners))
            continue
        for s in t.steps:
            # the step's key starts its message id (unique on the page): what a page script or
            # a browser test matches on, whatever the title's language
            status = "done" if s.done else "pending"
            metadata = {"title": s.title, "status": status, "id": f"{s.key}-{len(msgs)}"}
            msgs.append({"role": "assistant", "content": s.detail or "…", "metadata": metadata})
        if t.text or (n_of_m and not t.error):
            stop = " ⏹" if t.stopped else ""
            msgs.append({"role": "assistant", "content": t.text + stop + mark(n_of_m)})
            n_of_m = None
        msgs += [{"role": "assistant", "content": {"path": show(f)}} for f in t.files]
        if t.error:
            msgs.append({"role": "assistant", "content": f"⚠️ {t.error}" + mark(n_of_m)})
        owners += [i] * (len(msgs) - len(owners))
    return msgs, owners


def feedback_values(conv: Conversation | None, msgs: list[dict], owners: list[int]) -> list:
    """The Chatbot's thumbs for these messages (its feedback_value): one entry per bubble of
    consecutive assistant messages, "Like" / "Dislike" / None from the rating of the turn the
    bubble's first message belongs to (the turn a click on that bubble rates)."""
    out = []
    for i, m in enumerate(msgs):
        if m["role"] == "assistant" and (i == 0 or msgs[i - 1]["role"] != "assistant"):
            rating = conv.turns[owners[i]].rating
            out.append({"up": "Like", "down": "Dislike"}.get(rating))
    return out


def shown(conv: Conversation | None, show=same):
    """The chat as a whole (a conversation opened or another branch shown): the messages and
    the thumbs its replies were given. Streaming handlers send plain messages instead."""
    msgs, owners = rendered(conv, show)
    return gr.update(value=msgs, feedback_value=feedback_values(conv, msgs, owners))


def turn_json(t: Turn, n_of_m: tuple[int, int] | None) -> dict:
    """One turn as /open, /tree, /branch and /feedback return it."""
    return {
        "role": t.role,
        "text": t.text,
        "error": t.error,
        "stopped": t.stopped,
        "steps": [s.title for s in t.steps],
        "files": t.files,
        "image_request": t.card,
        "attachments": [
            {"name": a.name, "kind": a.kind, "sha256": a.sha256} for a in t.attachments
        ],
        "id": t.node,
        "parent": t.parent,
        "branch": list(n_of_m or (1, 1)),
        "rating": t.rating,
        "comment": t.comment,
    }


def turns_json(conv: Conversation) -> list[dict]:
    """The visible path as /open returns it: each turn with its node id, its parent and, where
    it has alternatives, "branch": [n, m] (‹ n/m ›; /branch switches), and its rating."""
    marks = conv.branch_marks()
    return [turn_json(t, marks.get(t.node)) for t in conv.turns]


def tree_json(conv: Conversation) -> dict:
    """Every turn of every branch, oldest first, and the visible path's last turn (/tree)."""
    from ..branches import children_of

    parents = conv.parents()
    kids = children_of(parents)
    out = []
    for node in sorted(conv.nodes):
        siblings = kids.get(parents[node] if parents[node] in parents else None, [node])
        out.append(turn_json(conv.nodes[node], (siblings.index(node) + 1, len(siblings))))
    return {"head": conv.turns[-1].node if conv.turns else None, "turns": out}
