"""Gradio UI: the only package that imports gradio.

    layout.py    the components (chat, box, buttons, image card, hidden API outputs)
    handlers.py  one plain method per chat event, over the pipeline's public methods; owners
    conversations.py  the sidebar and /conversations, /open, /export, /delete, /rename
    wiring.py    which event calls which handler; the API endpoints (/chat, /redraw, ...)
"""
from __future__ import annotations

import gradio as gr

from ..cleanup import SWEEP_EVERY_S
from ..config import TEMP_FILES_MAX_AGE_S
from ..pipeline import Pipeline
from .conversations import ConversationHandlers
from .handlers import Handlers, api_reply, header, render
from .layout import I18N, build_layout
from .wiring import wire

__all__ = ["I18N", "build_ui", "Handlers", "api_reply", "header", "render"]


def build_ui(pipeline: Pipeline) -> gr.Blocks:
    handlers = Handlers(pipeline)
    # Gradio's own upload cache is swept hourly of files older than TEMP_FILES_MAX_AGE_S
    with gr.Blocks(title="Multimodal chatbot", delete_cache=(SWEEP_EVERY_S, TEMP_FILES_MAX_AGE_S)) as demo:
        layout = build_layout(handlers.header(), pipeline.history.browser_secret())
        wire(layout, handlers, ConversationHandlers(pipeline), demo)
    return demo
