"""Gradio UI: the only package that imports gradio.

layout.py    the components (chat, box, buttons, image card, hidden API outputs)
handlers.py  one plain method per chat event, over the pipeline's public methods; owners
render.py    the conversation as Chatbot messages (‹ n/m ›, thumbs) and as the API's JSON
files.py     files served to (and accepted from) their owner only: the middleware, the owner cookie
conversations.py  the sidebar and /conversations, /open, /export, /delete, /rename
shares.py    share links: the read-only page and its files (SharePages), /share, /shares, /unshare
branches.py  the message tree and feedback: edit, ‹ n/m › alternatives, 👍 / 👎; /edit, /branch,
             /feedback
tools.py     the app as MCP tools: ask_documents, describe_photo, draw, transcribe, conversations
wiring.py    which event calls which handler; the API endpoints (/chat, /redraw, ...)
"""

from __future__ import annotations

import gradio as gr

from ..cleanup import SWEEP_EVERY_S
from ..config import TEMP_FILES_MAX_AGE_S
from ..pipeline import Pipeline
from .conversations import ConversationHandlers
from .files import Access, OwnerFiles
from .handlers import Handlers, api_reply, header, render
from .layout import I18N, build_layout
from .shares import SharePages
from .tools import hide_endpoints
from .wiring import wire

__all__ = ["I18N", "build_ui", "launch_options", "Handlers", "api_reply", "header", "render"]


def build_ui(pipeline: Pipeline) -> gr.Blocks:
    store, secret = pipeline.store, pipeline.browser_secret()
    access = Access(store, secret)  # files served to, and taken from, their owner only
    if store is not None:  # the store's files are served from it (owner-checked), never copied
        gr.set_static_paths([str(store.blobs.root)])
    handlers = Handlers(pipeline, access)
    # Gradio's own upload cache is swept hourly of files older than TEMP_FILES_MAX_AGE_S
    with gr.Blocks(
        title="Multimodal chatbot", delete_cache=(SWEEP_EVERY_S, TEMP_FILES_MAX_AGE_S)
    ) as demo:
        layout = build_layout(handlers.header(), secret)
        wire(layout, handlers, ConversationHandlers(pipeline, access), demo)
    hide_endpoints(demo)  # MCP clients see the tools, gradio_client every endpoint
    demo.file_access = access
    return demo


def launch_options(demo: gr.Blocks) -> dict:
    """What demo.launch() needs besides the address: OwnerFiles in front of Gradio's routes, no
    static-file worker processes (they would serve files without asking it), and the MCP server
    (at /gradio_api/mcp/, behind the same middleware)."""
    from starlette.middleware import Middleware

    return {
        "app_kwargs": {
            "middleware": [
                Middleware(OwnerFiles, access=demo.file_access),
                Middleware(SharePages, store=demo.file_access.store),  # /share/<id> links
            ]
        },
        "num_workers": 0,
        "mcp_server": True,  # /gradio_api/mcp/: the tools of ui/tools.py
    }
