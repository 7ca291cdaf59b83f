"""Output projector -> generator: the end of the chain, and the card's Redraw.

    reply text, <draw> signal, toggle --decide--> draw or not, and why (output_projector/)
                                      --write_prompt--> ImageRequest (the LLM writes English)
    ImageRequest --check_request--> --draw--> PNG with provenance (generator.py, Stop between steps)

Drawing owns the reply's picture: its card (the request behind it), its file, and the error or
the stop when there is none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from . import gpu, steps
from .config import AppConfig
from .conversation import Conversation, Turn
from .generator import ImageRequest
from .limits import limited
from .loader import Models
from .messages import UserError, reader_language
from .messages import text as say


class Drawing:
    """Decide, write the prompt, draw; and draw again from the card without the LLM."""

    def __init__(self, cfg: AppConfig, models: Models, history):
        self.cfg, self.models, self.history = cfg, models, history

    def cannot_draw(self, lang: str) -> str:
        return self.cfg.generator.reason or say("draw.no_generator", lang)

    def picture(
        self, conv: Conversation, user: Turn, reply: Turn, signal: dict | None, toggle: bool
    ) -> Iterator[Turn]:
        """Decide whether the reply needs a picture and write its prompt, then draw it."""
        from .output_projector import decide, write_prompt

        decision = decide(
            user.text,
            toggle=toggle,
            llm_signal=signal is not None,
            classifier=self.models.classifier(),
            documents=conv.documents is not None,
            picture=bool(conv.image_request or conv.images()),
        )
        if not decision.draw:
            return
        step = steps.output_projector(conv.language, decision)
        reply.steps.append(step)
        yield reply
        if not self.models.can_draw:  # said before asking the LLM for a prompt nobody can draw
            step.done = True
            reply.error = self.cannot_draw(conv.language)
            return
        backend = self.models.backend
        history = [(t.role, t.text) for t in conv.model_turns()[:-2]]  # before this exchange
        photo = next((a.path for a in user.attachments if a.kind == "image"), None)  # a variation
        req = write_prompt(
            lambda msgs: backend.complete(msgs, key=f"{conv.id}:prompt"),
            history,
            user.text,
            conv.image_request,
            self.cfg.drawing,
            signal=signal,
            init_image=photo,
        )
        step.detail += steps.draw_prompt(conv.language, req)
        step.done = True
        yield from self.draw(conv, reply, req)

    def new_request(self, fields: dict) -> ImageRequest:
        """A picture asked for outside a conversation (the MCP draw tool): the profile's drawing
        defaults (AppConfig.drawing: steps, guidance, size) under the given fields, checked
        like the card's (validate.image_edits; UserError)."""
        from .validate import image_edits

        d = self.cfg.drawing
        base = ImageRequest(
            prompt="",
            negative_prompt=d.negative_prompt,
            seed=d.seed or 0,
            steps=d.steps,
            guidance=d.guidance,
            width=d.width,
            height=d.height,
        )
        return image_edits(fields, base)

    def redraw(
        self,
        conv: Conversation,
        edits: ImageRequest | dict,
        queued_at: float | None = None,
        language: str | None = None,
    ) -> Iterator[Turn]:
        """The card's Redraw, without the LLM: `edits` is an ImageRequest or the card's fields
        over the last request, checked (validate.image_edits) before anything is kept; stopped
        while queued: nothing."""
        from .validate import image_edits

        if conv.stopped_since(queued_at):
            lang = reader_language(language, "")
            yield Turn("assistant", stopped=True, error=say("queue.stopped", lang))
            return
        conv.stop_event.clear()
        reply = Turn("assistant")
        conv.add(reply)
        self.history.save(conv, reply, "streaming")
        try:
            req = (
                edits if isinstance(edits, ImageRequest) else image_edits(edits, conv.image_request)
            )
            yield from self.draw(conv, reply, req)
        except UserError as exc:
            reply.error = exc.text(conv.language)
        self.history.finish(conv, reply)
        yield reply

    def draw(self, conv: Conversation, reply: Turn, req: ImageRequest) -> Iterator[Turn]:
        """Run the generator with per-step progress; Stop ends it after the current step."""
        from .generator import GenerationStopped, check_request

        lang = conv.language
        if not self.models.can_draw:
            reply.error = self.cannot_draw(lang)
            yield reply
            return
        # a request over its limits is never kept (it would poison follow-ups)
        req = check_request(req)
        conv.image_request = req
        reply.card = req.to_dict()
        step = steps.draw(lang, Path(self.cfg.generator.model).name)
        reply.steps.append(step)
        yield reply
        generator = self.models.generator()
        try:
            image = yield from steps.show(
                reply,
                steps.with_progress(
                    limited(
                        "draw",
                        lambda report: gpu.draw(
                            generator, req, on_step=report, stop_event=conv.stop_event
                        ),
                        lang,
                    ),
                    step,
                    say("step.draw_progress", lang),
                ),
            )
        except GenerationStopped as exc:
            reply.stopped, step.detail = True, say("step.draw_stopped", lang, reason=exc)
        except UserError as exc:
            reply.error = exc.text(lang)
        except Exception as exc:
            reply.error = say("draw.failed", lang, error=f"{type(exc).__name__}: {exc}")
        else:
            reply.files.append(image.path)
            step.detail = steps.drawn(lang, image)
        step.done = True
        yield reply
