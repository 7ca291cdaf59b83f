"""Events: which component triggers which handler, and the API endpoints programs call."""

from __future__ import annotations

import gradio as gr

from .conversations import ConversationHandlers
from .files import SET_OWNER_COOKIE_JS
from .handlers import Handlers
from .layout import Layout


def wire(ui: Layout, h: Handlers, c: ConversationHandlers, demo: gr.Blocks) -> None:
    wire_conversations(ui, c, demo, wire_chat(ui, h, demo))


def wire_conversations(
    ui: Layout, c: ConversationHandlers, demo: gr.Blocks, chat_events: list
) -> None:
    """The sidebar, and the API for programs: /conversations, /open, /export, /delete, /rename."""
    bar, api, private = ui.sidebar, ui.api, dict(api_visibility="private")
    refresh = dict(fn=c.search, inputs=[bar["search"], ui.conv], outputs=bar["list"], **private)
    token = gr.Textbox(
        visible=False
    )  # the owner cookie's signed value: the page sets it, then shows the chat
    demo.load(c.on_load, ui.owner, [ui.owner, ui.conv, token, bar["list"]], **private).then(
        None, token, None, js=SET_OWNER_COOKIE_JS, **private, queue=False
    ).then(c.show_conversation, ui.conv, ui.chatbot, **private).then(
        lambda: gr.update(interactive=True), None, ui.box, **private, queue=False
    )  # a message sent sooner had no owner
    bar["list"].input(c.open_ui, [bar["list"], ui.conv], [ui.conv, ui.chatbot], **private)
    bar["new"].click(c.new_chat, ui.conv, [ui.conv, ui.chatbot, bar["list"]], **private)
    bar["search"].change(**refresh)
    bar["rename"].click(c.rename_ui, [bar["title"], ui.conv], bar["list"], **private)
    bar["delete"].click(
        lambda: gr.update(visible=True), None, bar["confirm"], **private, queue=False
    )
    bar["confirm"].click(c.delete_ui, ui.conv, [ui.conv, ui.chatbot, bar["list"]], **private).then(
        lambda: gr.update(visible=False), None, bar["confirm"], **private, queue=False
    )
    for fmt in ("md", "zip"):
        bar[f"export_{fmt}"].click(
            lambda conv, fmt=fmt: gr.update(value=c.export_ui(fmt, conv), visible=True),
            ui.conv,
            bar["file"],
            **private,
        )
    bar["import"].upload(
        c.import_ui, [bar["import"], ui.conv], [ui.conv, ui.chatbot, bar["list"]], **private
    )
    for (
        event
    ) in chat_events:  # once a message, redraw or clear has run: titles and order follow the chat
        event.then(**refresh)
    api["conversations"].click(
        c.conversations_api, ui.conv, [api["list"], ui.conv], api_name="conversations"
    )
    api["open"].click(c.open_api, [api["id"], ui.conv], [api["turns"], ui.conv], api_name="open")
    api["export"].click(
        c.export_api, [api["id"], ui.conv], [api["archive"], ui.conv], api_name="export"
    )
    api["delete"].click(
        c.delete_api, [api["id"], ui.conv], [api["list"], ui.conv], api_name="delete"
    )
    api["rename"].click(
        c.rename_api, [api["id"], api["title"], ui.conv], [api["list"], ui.conv], api_name="rename"
    )


def wire_chat(ui: Layout, h: Handlers, demo: gr.Blocks) -> list:
    """The chat and its API; returns the events after which the conversation list changes."""
    api, private = ui.api, dict(api_visibility="private")
    io_api = [api["text"], api["files"], api["info"], ui.conv]
    # chats share the model's slots: as many as the engine decodes at once (limits.py)
    model_slot = dict(concurrency_id="model", concurrency_limit=h.chats_at_once())

    def fill_card(conv):
        values = h.card(conv)
        return [gr.skip()] * 4 if values is None else values

    ui.box.submit(h.mark_queued, ui.conv, None, **private, queue=False)
    sent = (
        ui.box.submit(
            h.chat_ui,
            [ui.box, ui.conv, ui.draw_toggle],
            [ui.chatbot, ui.box, ui.conv],
            **private,
            **model_slot,
        )
        .then(fill_card, [ui.conv], ui.card, **private)
        .then(h.header, None, ui.head, **private, queue=False)
    )
    redrawn = ui.redraw.click(
        h.redraw_ui, [ui.conv, *ui.card], [ui.chatbot, ui.conv], **private, **model_slot
    ).then(fill_card, [ui.conv], ui.card, **private)
    api["redraw"].click(
        h.redraw_api, [api["request"], ui.conv], io_api, api_name="redraw", **model_slot
    )
    api["chat"].click(h.chat_api, [ui.box, ui.conv], io_api, api_name="chat", **model_slot).then(
        fill_card, [ui.conv], ui.card, **private
    )
    ui.retry.click(h.retry, [ui.conv], [ui.chatbot, ui.conv], api_name="retry", **model_slot)
    ui.speak.click(h.read_aloud, ui.conv, ui.spoken, api_name="read_aloud")
    ui.stop.click(
        h.stop, [ui.conv], [ui.conv], api_name="stop", queue=False
    )  # also what still waits in the queue
    ui.undo.click(h.undo, [ui.conv], [ui.chatbot, ui.box, ui.conv], api_name="undo")
    cleared = ui.clear.click(h.clear, [ui.conv], [ui.chatbot, ui.box, ui.conv], api_name="clear")
    api["status_button"].click(h.status, None, api["status"], api_name="status", queue=False)

    def tick(request: gr.Request):  # the header follows the loader until it is done
        return h.header(request), gr.Timer(active=h.status()["progress"] not in ("ready", "failed"))

    ui.timer.tick(tick, None, [ui.head, ui.timer], **private, queue=False)
    demo.load(h.on_load, None, ui.head, **private, queue=False)
    return [sent, redrawn, cleared]
