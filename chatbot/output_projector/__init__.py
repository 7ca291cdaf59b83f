"""Output projector: after the LLM, decide whether to draw and write the generator's prompt.

NExT-GPT decides with learned signal tokens and feeds hidden states to the
diffusion model: users never see the prompt and often cannot make it draw.
Here every part is visible and editable instead:

    decide(text)          /imagine or the UI toggle -> explicit request (rules.py, ko/en)
                          -> the LLM's own <draw>{...}</draw> line (signal.py) -> a small
                          learned classifier on sentence embeddings (classifier.py, GILL-style)
    write_prompt(...)     the LLM turns the conversation into an English prompt
                          (JSON); garbage in -> a deterministic fallback prompt (prompt.py)
    ImageRequest          what the generator gets, and what the UI card shows (chatbot.generator)

Pure Python + numpy; the embedder is imported only when a classifier is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from .classifier import (
    DATA_FILE,
    HELD_OUT_EVERY,
    DrawClassifier,
    fit_logistic,
    is_held_out,
    load_dataset,
    sigmoid,
    split_dataset,
)
from .prompt import (
    FOLLOWUP,
    NEW_SEED,
    PROMPT_HISTORY_CHARS,
    PROMPT_HISTORY_TURNS,
    SEED,
    fallback_prompt,
    parse_prompt_reply,
    prompt_messages,
    usable_prompt,
    write_prompt,
)
from .rules import COMMAND, explicit_decision, explicit_request, is_command, strip_command
from .signal import first_json_object, hide_signal, parse_llm_signal

__all__ = [
    "Decision",
    "decide",
    "COMMAND",
    "explicit_decision",
    "explicit_request",
    "is_command",
    "strip_command",
    "first_json_object",
    "hide_signal",
    "parse_llm_signal",
    "DATA_FILE",
    "HELD_OUT_EVERY",
    "DrawClassifier",
    "fit_logistic",
    "is_held_out",
    "load_dataset",
    "sigmoid",
    "split_dataset",
    "FOLLOWUP",
    "NEW_SEED",
    "PROMPT_HISTORY_CHARS",
    "PROMPT_HISTORY_TURNS",
    "SEED",
    "fallback_prompt",
    "parse_prompt_reply",
    "prompt_messages",
    "usable_prompt",
    "write_prompt",
]


@dataclass
class Decision:
    draw: bool
    source: str  # "command" | "toggle" | "explicit" | "llm" | "classifier" | "none"
    score: float  # 1.0 / 0.0 for rules, the probability for the classifier
    reason: str  # shown in the reply's status step


def decide(
    text: str,
    toggle: bool = False,
    llm_signal: bool | None = None,
    classifier: DrawClassifier | None = None,
    documents: bool = False,
    picture: bool = False,
) -> Decision:
    """Draw or not, and why, in this order of authority:

    1. `/imagine ...` or the UI's image toggle: always draw.
    2. explicit_request(): clear requests draw, clear non-requests never do.
    3. llm_signal=True: the LLM emitted <draw> (parse_llm_signal). False or None is
       not a veto: small models rarely follow the format, so the classifier still runs.
    4. the classifier's probability >= its threshold, except with documents in the
       conversation (documents=True) and no image in it to change (picture=False: no drawn
       picture, no photo): the classifier was trained on chat without documents, and there a
       question about them ("which directory holds ...") can look like a request (a few real
       document questions scored over the threshold: bench/RESULTS.md, eval_draw). What it
       catches beyond the rules is mostly changing an image ("make it blue", "turn my photo
       into a watercolour"), which needs one; new pictures are asked for in words the rules
       know, /imagine or the toggle.
    """
    if is_command(text):
        return Decision(True, "command", 1.0, "/imagine command")
    if toggle:
        return Decision(True, "toggle", 1.0, "image mode is on")
    explicit, reason = explicit_decision(text)
    if explicit is not None:
        return Decision(explicit, "explicit", 1.0 if explicit else 0.0, reason)
    if llm_signal:
        return Decision(True, "llm", 1.0, "the model asked to draw (<draw> line)")
    if classifier is not None:
        p = classifier.probability(text)
        if documents and not picture:
            return Decision(
                False,
                "classifier",
                p,
                f"classifier: p={p:.2f}, but documents are in this "
                "conversation and no image to change: read as a question about them",
            )
        verdict = "asks" if p >= classifier.threshold else "does not ask"
        return Decision(
            p >= classifier.threshold,
            "classifier",
            p,
            f"classifier: p={p:.2f} {verdict} for a picture (threshold {classifier.threshold})",
        )
    return Decision(False, "none", 0.0, reason)
