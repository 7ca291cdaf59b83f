"""The reply's visible steps: their stable keys, their wording in the reader's language, progress
from worker threads, and failure messages that say what to do.

Stages build their Step with the functions here and fill its detail with them, so a stage file
holds what the stage does and this file holds how it reads. Every step carries a key from KEYS:
API clients (info["steps"][i]["key"]) and tests match on it, never on a title.
"""

from __future__ import annotations

import threading

from .conversation import Step
from .messages import text

KEYS = (
    "loading",  # the models are loading (shown only while they are)
    "listen",  # a voice note or a clip: speech to text, frames (media)
    "restored",  # a conversation reopened from the store: its photos are read again
    "documents",  # one document parsed (one step per document)
    "retrieval",  # page-cited passages for the question
    "ocr",  # photos read as text, for an LLM that cannot see
    "vision",  # CLIP/SigLIP zero-shot labels or photo search
    "encode",  # vision encoder -> input projector
    "llm",  # the LLM's streamed answer
    "output_projector",  # draw or not, and the picture's prompt
    "draw",  # the diffusion generator
    "saving",  # the store could not keep the turn
)


def step(key: str, title: str, detail: str = "", done: bool = False) -> Step:
    assert key in KEYS, key
    return Step(key, title, detail, done)


# ---- one constructor per box, in data-flow order ---------------------------------------------


def loading(lang: str) -> Step:
    return step("loading", text("step.loading", lang))


def loaded(lang: str, seconds: float) -> str:
    return text("step.loaded", lang, seconds=seconds)


def restored(lang: str, count: int) -> Step:
    return step(
        "restored",
        text("step.restored", lang),
        text("step.restored_detail", lang, count=count),
        done=True,
    )


def listening(lang: str, kind: str, name: str) -> Step:
    icon = "🎬" if kind == "video" else "🎙️"
    return step("listen", f"{icon} {name}", text("step.listening", lang))


def reading(lang: str, name: str) -> Step:
    return step("documents", f"📄 {name}", text("step.reading", lang))


def document_read(doc, lang: str, added: bool, restored: bool) -> str:
    """A parsed document's summary; sheets show a preview of their first table."""
    detail = doc.summary() + (text("step.doc_restored", lang) if restored else "")
    detail += "" if added else text("step.doc_again", lang)
    if doc.kind == "table" and doc.tables:
        detail += "\n\n" + "\n".join(doc.tables[0].markdown.splitlines()[:8])
    return detail


def retrieval(lang: str) -> Step:
    return step("retrieval", text("step.retrieval", lang), "…")


def retrieved(
    lang: str, mode: str, progress: tuple[int, int], passages, expansion, reading: bool = False
) -> str:
    """How the passages were found (whole, keywords, hybrid...) and what they are; and, while a
    long PDF is read in full in the background, that its retrieved pages already were."""
    done, total = progress
    served = text(f"retrieval.{mode}", lang, done=done, total=total)
    later = "\n" + text("retrieval.reading", lang) if reading else ""
    return (
        text("step.served_by", lang, how=served)
        + later
        + "\n\n"
        + sources(passages, expansion, lang)
    )


def sources(passages, expansion=None, lang: str | None = None) -> str:
    """The Retrieval step's text: what went into the context, with citations, and the English
    terms a Korean question was searched with (query.Expansion), if any."""
    lines = [
        f"{p.cite()} ({p.kind}, score {p.score:.2f}): {p.text[:160].strip()}…" for p in passages
    ]
    if expansion is not None and expansion.added:
        lines.insert(0, text("step.query_expanded", lang, terms=expansion.describe()) + "\n")
    return "\n".join(lines)


def ocr(lang: str) -> Step:
    return step("ocr", text("step.ocr", lang))


def ocr_read(lang: str, photos, chars: list[int]) -> str:
    return "\n".join(
        text("step.ocr_photo", lang, n=i + 1, name=a.name, chars=n)
        for i, (a, n) in enumerate(zip(photos, chars))
    )


def vision(lang: str, decision) -> Step:
    detail = f"{decision.tool} ({decision.source}): {decision.reason}"
    return step("vision", text("step.vision", lang), detail)


def unavailable(lang: str, reason: str) -> str:
    return text("step.unavailable", lang, reason=reason)


def encode(backend) -> Step:
    return step("encode", f"🖼️ {backend.encoder_name} → {backend.projector_name}")


def encoded(lang: str, images, encodings) -> str:
    """One line per photo: tokens (or sent to a server), cached or how long it took."""
    lines = []
    for i, (a, e) in enumerate(zip(images, encodings)):
        what = (
            text("step.encode_server", lang)
            if e.n_tokens == 0
            else text("step.encode_tokens", lang, n=e.n_tokens)
        )
        how = (
            text("step.encode_cached", lang)
            if e.cached
            else text("step.encode_time", lang, ms=e.seconds * 1000)
        )
        note = f" · {text(a.note, lang)}" if a.note else ""
        lines.append(text("step.encode_photo", lang, n=i + 1, name=a.name, what=what + how) + note)
    return "\n".join(lines)


def llm(backend) -> Step:
    return step("llm", f"💬 {backend.describe()}")


def generated(lang: str, ttft: float, stats, stopped: bool) -> str:
    detail = text(
        "step.generate_detail",
        lang,
        ttft=ttft,
        tps=stats.tokens_per_s,
        new=stats.new_tokens,
        prompt=stats.prompt_tokens,
    )
    if stats.reused_tokens:
        detail += text("step.reused", lang, n=stats.reused_tokens)
    return detail + (text("step.stopped", lang) if stopped else "")


def output_projector(lang: str, decision) -> Step:
    detail = text("step.draw_decision", lang, source=decision.source, reason=decision.reason)
    return step("output_projector", text("step.output_projector", lang), detail)


def draw_prompt(lang: str, req) -> str:
    return text(
        "step.draw_prompt",
        lang,
        prompt=req.prompt,
        seed=req.seed,
        steps=req.steps,
        width=req.width,
        height=req.height,
    )


def draw(lang: str, model_name: str) -> Step:
    return step("draw", f"🎨 {model_name}", text("step.generator_loading", lang))


def drawn(lang: str, image) -> str:
    p = image.provenance
    return text(
        "step.drawn",
        lang,
        model=p.get("model", ""),
        seed=p.get("seed"),
        steps=p.get("steps"),
        width=image.image.width,
        height=image.image.height,
        seconds=p.get("seconds", 0),
    )


def not_saved(lang: str, why: str) -> Step:
    return step("saving", text("step.not_saved", lang), why, done=True)


# ---- progress and failures ------------------------------------------------------------------


def with_progress(work, step: Step, fmt: str):
    """Run work(report) in a thread; each report(*args) becomes step.detail = fmt.format(*args)
    and the step is yielded, so long stages stream their progress. Returns work's result
    (use with `yield from`) or re-raises its exception."""
    import queue

    reports, result = queue.Queue(), {}

    def run():
        try:
            result["value"] = work(lambda *a: reports.put(a))
        except BaseException as exc:  # handed to the streaming side
            result["error"] = exc
        finally:
            reports.put(None)

    threading.Thread(target=run, daemon=True).start()
    while (item := reports.get()) is not None:
        waiting = item[0] if len(item) == 1 else None  # limits.Waiting: its place in the line
        step.detail = waiting.text if hasattr(waiting, "text") else fmt.format(*item)
        yield step
    if "error" in result:
        raise result["error"]
    return result["value"]


def show(reply, stage):
    """Run a stage on the reply: each Step it yields is shown (added once, where it is new),
    each string is the reply's visible text so far; yields the reply after each. Returns what
    the stage returns. Closing this generator closes the stage (a Stop reaches the model)."""
    try:
        while True:
            try:
                item = next(stage)
            except StopIteration as done:
                return done.value
            if isinstance(item, str):
                reply.text = item
            elif not any(s is item for s in reply.steps):
                reply.steps.append(item)
            yield reply
    finally:
        stage.close()


def explain_failure(exc: Exception, lang: str = "en") -> str:
    """A message that names the cause and what to do, in the reader's language."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return text("failure.oom", lang)
    return text("failure.model", lang, error=f"{type(exc).__name__}: {exc}")
