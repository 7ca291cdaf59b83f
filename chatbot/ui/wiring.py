"""Events: which component triggers which handler, and the API endpoints programs call."""
from __future__ import annotations

import gradio as gr

from .handlers import Handlers
from .layout import Layout

# One model, one device: every event that runs the model shares one queue slot.
MODEL_SLOT = dict(concurrency_id="model", concurrency_limit=1)


def wire(ui: Layout, h: Handlers, demo: gr.Blocks) -> None:
    api, private = ui.api, dict(api_visibility="private")
    io_api = [api["text"], api["files"], api["info"], ui.conv]

    def fill_card(conv):
        values = h.card(conv)
        return [gr.skip()] * 4 if values is None else values

    ui.box.submit(h.chat_ui, [ui.box, ui.conv, ui.draw_toggle], [ui.chatbot, ui.box, ui.conv], **private,
                  **MODEL_SLOT).then(fill_card, [ui.conv], ui.card, **private).then(
        h.header, None, ui.head, **private, queue=False)
    ui.redraw.click(h.redraw_ui, [ui.conv, *ui.card], [ui.chatbot, ui.conv], **private,
                    **MODEL_SLOT).then(fill_card, [ui.conv], ui.card, **private)
    api["redraw"].click(h.redraw_api, [api["request"], ui.conv], io_api, api_name="redraw", **MODEL_SLOT)
    api["chat"].click(h.chat_api, [ui.box, ui.conv], io_api, api_name="chat",
                      **MODEL_SLOT).then(fill_card, [ui.conv], ui.card, **private)
    ui.retry.click(h.retry, [ui.conv], [ui.chatbot, ui.conv], api_name="retry", **MODEL_SLOT)
    ui.stop.click(h.stop, [ui.conv], None, api_name="stop", queue=False)
    ui.undo.click(h.undo, [ui.conv], [ui.chatbot, ui.box, ui.conv], api_name="undo")
    ui.clear.click(h.clear, [ui.conv], [ui.chatbot, ui.box, ui.conv], api_name="clear")
    api["status_button"].click(h.status, None, api["status"], api_name="status", queue=False)

    def tick():  # the header follows the loader until it is done
        return h.header(), gr.Timer(active=h.status()["progress"] not in ("ready", "failed"))
    ui.timer.tick(tick, None, [ui.head, ui.timer], **private, queue=False)
    demo.load(h.on_load, None, ui.head, **private, queue=False)
