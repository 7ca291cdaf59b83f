"""Events: which component triggers which handler, and the API endpoints programs call."""

from __future__ import annotations

import gradio as gr

from .branches import BranchHandlers
from .conversations import ConversationHandlers
from .files import SET_OWNER_COOKIE_JS
from .handlers import Handlers
from .layout import Layout
from .shares import ShareHandlers
from .tools import Tools

# a page opened from a share link's "Continue as my own copy" (/?copy=<id>) has made its copy:
# a reload must not make another
FORGET_COPY_JS = (
    "() => { if (new URLSearchParams(location.search).has('copy')) "
    "history.replaceState(null, '', location.pathname); }"
)
# Watching a reply in progress takes no model slot: it must not wait behind what it watches.
WATCH = dict(concurrency_id="follow", concurrency_limit=None)


def model_slot(h: Handlers) -> dict:
    """Every event that runs the model shares one queue, as wide as the engine's slots (one for
    an in-process engine: one model, one device; config.ModelConfig.chats_at_once)."""
    return dict(concurrency_id="model", concurrency_limit=h.chats_at_once())


def wire(ui: Layout, h: Handlers, c: ConversationHandlers, demo: gr.Blocks) -> None:
    chat_events = wire_chat(ui, h, demo)
    wire_conversations(ui, c, demo, chat_events, h.follow_ui)
    wire_branches(ui, BranchHandlers(h, c), model_slot(h))
    wire_shares(ui, ShareHandlers(h.pipeline))
    wire_tools(Tools(h, c), model_slot(h))


def wire_tools(t: Tools, slot: dict) -> None:
    """The MCP tools (ui/tools.py), typed from their signatures: the turn tools take the model's
    slots like /chat; drawing and transcription run no LLM and wait in their own stage limits
    inside (DRAWINGS_AT_ONCE, TRANSCRIPTIONS_AT_ONCE), each in a conversation of its own, so
    they never hold a chat's slot; listing and opening conversations run no model."""
    for tool in (t.ask_documents, t.describe_photo):
        gr.api(tool, api_name=tool.__name__, **slot)
    for tool in (t.draw, t.transcribe):
        gr.api(tool, api_name=tool.__name__, concurrency_id=tool.__name__, concurrency_limit=None)
    for tool in (t.list_conversations, t.open_conversation):
        gr.api(tool, api_name=tool.__name__, queue=False)


def wire_shares(ui: Layout, s: ShareHandlers) -> None:
    """Share links: the sidebar's Share / Revoke, and /share, /shares, /unshare."""
    api, bar, private = ui.api, ui.sidebar, dict(api_visibility="private")
    bar["share"].click(s.share_ui, ui.conv, bar["link"], **private)
    bar["revoke"].click(s.revoke_ui, ui.conv, bar["link"], **private)
    api["share"].click(
        s.share_api,
        [api["id"], api["days"], ui.conv],
        [api["link_info"], ui.conv],
        api_name="share",
    )
    api["shares"].click(s.shares_api, ui.conv, [api["list"], ui.conv], api_name="shares")
    api["unshare"].click(
        s.unshare_api, [api["id"], ui.conv], [api["list"], ui.conv], api_name="unshare"
    )
    api["copy_share"].click(
        s.copy_api, [api["id"], ui.conv], [api["turns"], ui.conv], api_name="copy_share"
    )


def wire_branches(ui: Layout, b: BranchHandlers, slot: dict) -> None:
    """Edit (the Chatbot's edit button; /edit), switch (the Alternatives dropdown; /branch),
    👍 / 👎 (the Chatbot's thumbs; /feedback)."""
    api, private = ui.api, dict(api_visibility="private")
    # whatever changed the chat (a message, an edit, a retry, opening another conversation)
    ui.chatbot.change(
        b.choices, ui.conv, ui.branches, **private, queue=False, trigger_mode="always_last"
    )
    ui.chatbot.edit(b.edit_ui, ui.conv, [ui.chatbot, ui.conv], **private, **slot)
    ui.chatbot.like(b.like_ui, [ui.conv, ui.comment], [ui.conv, ui.comment], **private)
    # switching waits for a reply in progress (the model slot): the path it extends stays put
    ui.branches.input(
        b.switch_ui,
        [ui.branches, ui.conv],
        [ui.chatbot, ui.conv, ui.branches],
        **private,
        **slot,
    )
    io_api = [api["text"], api["files"], api["info"], ui.conv]
    api["edit"].click(
        b.edit_api,
        [api["id"], api["index"], api["edit_text"], ui.conv],
        io_api,
        api_name="edit",
        **slot,
    )
    api["branch"].click(
        b.branch_api,
        [api["id"], api["index"], api["choice"], ui.conv],
        [api["turns"], ui.conv],
        api_name="branch",
        **slot,
    )
    api["feedback"].click(
        b.feedback_api,
        [api["id"], api["index"], api["rating"], api["comment"], ui.conv],
        [api["turns"], ui.conv],
        api_name="feedback",
    )


def wire_conversations(
    ui: Layout, c: ConversationHandlers, demo: gr.Blocks, chat_events: list, follow=None
) -> None:
    """The sidebar, and the API for programs: /conversations, /open, /export, /delete, /rename.
    follow(conv): a conversation opened while another tab writes its reply shows it live."""
    bar, api, private = ui.sidebar, ui.api, dict(api_visibility="private")
    live = dict(fn=follow, inputs=ui.conv, outputs=[ui.chatbot, ui.conv], **private, **WATCH)
    refresh = dict(fn=c.search, inputs=[bar["search"], ui.conv], outputs=bar["list"], **private)
    token = gr.Textbox(
        visible=False
    )  # the owner cookie's signed value: the page sets it, then shows the chat
    demo.load(c.on_load, ui.owner, [ui.owner, ui.conv, token, bar["list"]], **private).then(
        None, token, None, js=SET_OWNER_COOKIE_JS, **private, queue=False
    ).then(None, None, None, js=FORGET_COPY_JS, **private, queue=False).then(
        c.show_conversation, ui.conv, ui.chatbot, **private
    ).then(lambda: gr.update(interactive=True), None, ui.box, **private, queue=False).then(
        **live
    )  # a message sent before the owner was known had none
    bar["list"].input(c.open_ui, [bar["list"], ui.conv], [ui.conv, ui.chatbot], **private).then(
        **live
    )
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
    api["tree"].click(c.tree_api, [api["id"], ui.conv], [api["turns"], ui.conv], api_name="tree")
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
    slot = model_slot(h)

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
            **slot,
        )
        .then(fill_card, [ui.conv], ui.card, **private)
        .then(h.header, None, ui.head, **private, queue=False)
    )
    redrawn = ui.redraw.click(
        h.redraw_ui, [ui.conv, *ui.card], [ui.chatbot, ui.conv], **private, **slot
    ).then(fill_card, [ui.conv], ui.card, **private)
    api["redraw"].click(h.redraw_api, [api["request"], ui.conv], io_api, api_name="redraw", **slot)
    api["chat"].click(h.chat_api, [ui.box, ui.conv], io_api, api_name="chat", **slot).then(
        fill_card, [ui.conv], ui.card, **private
    )
    ui.retry.click(h.retry, [ui.conv], [ui.chatbot, ui.conv], api_name="retry", **slot)
    ui.chatbot.retry(h.retry, [ui.conv], [ui.chatbot, ui.conv], **private, **slot)
    ui.speak.click(h.read_aloud, ui.conv, ui.spoken, api_name="read_aloud")
    ui.stop.click(
        h.stop, [ui.conv], [ui.conv], api_name="stop", queue=False
    )  # also what still waits in the queue
    ui.undo.click(h.undo, [ui.conv], [ui.chatbot, ui.box, ui.conv], api_name="undo")
    cleared = ui.clear.click(h.clear, [ui.conv], [ui.chatbot, ui.box, ui.conv], api_name="clear")
    api["status_button"].click(h.status, None, api["status"], api_name="status", queue=False)
    api["follow"].click(h.follow_api, [api["id"], ui.conv], io_api, api_name="follow", **WATCH)

    def tick(request: gr.Request):  # the header follows the loader until it is done
        return h.header(request), gr.Timer(active=h.status()["progress"] not in ("ready", "failed"))

    ui.timer.tick(tick, None, [ui.head, ui.timer], **private, queue=False)
    demo.load(h.on_load, None, ui.head, **private, queue=False)
    return [sent, redrawn, cleared]
