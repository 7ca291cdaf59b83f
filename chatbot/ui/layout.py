"""The page: components only, no behaviour (handlers.py has that, wiring.py connects them).

Labels follow the browser's language (ko/en) through gr.I18n.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gradio as gr

from ..config import (
    IDLE_CONVERSATION_S,
    MAX_FEEDBACK_COMMENT_CHARS,
    MAX_GENERATION_STEPS,
    MAX_MESSAGE_CHARS,
    PROJECT_ROOT,
)

ASSETS = PROJECT_ROOT / "assets"

I18N = gr.I18n(
    en={
        "placeholder": "Ask anything; drop in photos, PDFs, Office files, tables, voice notes "
        "or short videos, or press the microphone…",
        "stop": "⏹ Stop",
        "retry": "🔄 Retry",
        "undo": "↩️ Undo",
        "clear": "🗑️ Clear",
        "speak": "🔊 Read aloud",
        "chat": "Conversation",
        "examples": "Examples",
        "draw": "🎨 Image mode: draw a picture for my message",
        "card": "🎨 Image card: edit the prompt or seed and redraw (no new LLM call)",
        "prompt": "Prompt",
        "negative": "Negative prompt",
        "seed": "Seed",
        "steps": "Steps",
        "redraw": "🎨 Redraw",
        "history": "Conversations",
        "new_chat": "➕ New chat",
        "search": "Search titles and text…",
        "title": "Title",
        "rename": "✏️ Rename",
        "delete": "🗑️ Delete conversation",
        "confirm_delete": "⚠️ Delete for good",
        "export_md": "⬇️ Markdown",
        "export_zip": "⬇️ Archive (zip)",
        "import": "⬆️ Import archive",
        "exported": "Export",
        "share": "🔗 Share link (read-only)",
        "revoke": "🚫 Revoke links",
        "link": "Link: anyone who has it sees this conversation as it is now",
        "branches": "Alternatives ‹ n/m ›: show another edit of a message or another reply",
        "comment": "Comment sent with your next 👍 / 👎 (optional)",
    },
    ko={
        "placeholder": "무엇이든 물어보세요. 사진, PDF, 오피스 문서, 표, 음성, 짧은 동영상을 "
        "올리거나 마이크를 누르세요…",
        "stop": "⏹ 중지",
        "retry": "🔄 다시 생성",
        "undo": "↩️ 되돌리기",
        "clear": "🗑️ 지우기",
        "speak": "🔊 읽어 주기",
        "chat": "대화",
        "examples": "예시",
        "draw": "🎨 이미지 모드: 메시지마다 그림 그리기",
        "card": "🎨 이미지 카드: 프롬프트나 시드를 고쳐 다시 그리기 (LLM 호출 없음)",
        "prompt": "프롬프트",
        "negative": "네거티브 프롬프트",
        "seed": "시드",
        "steps": "스텝",
        "redraw": "🎨 다시 그리기",
        "history": "대화 목록",
        "new_chat": "➕ 새 대화",
        "search": "제목과 내용 검색…",
        "title": "제목",
        "rename": "✏️ 이름 바꾸기",
        "delete": "🗑️ 대화 삭제",
        "confirm_delete": "⚠️ 영구 삭제",
        "export_md": "⬇️ 마크다운",
        "export_zip": "⬇️ 아카이브 (zip)",
        "import": "⬆️ 아카이브 가져오기",
        "exported": "내보내기",
        "share": "🔗 공유 링크 (읽기 전용)",
        "revoke": "🚫 링크 취소",
        "link": "링크: 가진 사람은 누구나 지금 상태의 대화를 볼 수 있습니다",
        "branches": "대안 ‹ n/m ›: 고친 메시지나 다른 답변 보기",
        "comment": "다음 👍 / 👎와 함께 보낼 의견 (선택)",
    },
)


@dataclass
class Layout:
    """Every component the wiring needs, by role."""

    conv: gr.State
    head: gr.Markdown
    chatbot: gr.Chatbot
    box: gr.MultimodalTextbox
    draw_toggle: gr.Checkbox
    stop: gr.Button
    retry: gr.Button
    undo: gr.Button
    clear: gr.Button
    speak: gr.Button
    spoken: gr.Audio
    card: list  # prompt, negative, seed, steps
    redraw: gr.Button
    timer: gr.Timer
    branches: gr.Dropdown  # every ‹ n/m › of the visible path: pick one to show it
    comment: gr.Textbox  # goes with the next 👍 / 👎
    api: dict  # hidden components behind the API endpoints
    sidebar: dict  # the conversation list and its buttons
    owner: gr.BrowserState


def build_sidebar() -> dict:
    """The owner's conversations, newest first, with search, rename, delete, export, import."""
    with gr.Sidebar(label=I18N("history"), open=True):
        if os.environ.get("SPACE_ID"):  # on a Hugging Face Space: conversations follow the HF user
            gr.LoginButton()
        bar = {
            "new": gr.Button(I18N("new_chat"), size="sm"),
            "search": gr.Textbox(placeholder=I18N("search"), show_label=False),
            "list": gr.Radio([], label=I18N("history"), elem_id="conversation-list"),
        }
        bar["title"] = gr.Textbox(label=I18N("title"), max_lines=1)
        bar["rename"] = gr.Button(I18N("rename"), size="sm")
        bar["delete"] = gr.Button(I18N("delete"), size="sm", variant="secondary")
        bar["confirm"] = gr.Button(I18N("confirm_delete"), size="sm", variant="stop", visible=False)
        with gr.Row():
            bar["export_md"] = gr.Button(I18N("export_md"), size="sm")
            bar["export_zip"] = gr.Button(I18N("export_zip"), size="sm")
        bar["file"] = gr.File(label=I18N("exported"), visible=False)
        bar["import"] = gr.UploadButton(I18N("import"), file_types=[".zip"], size="sm")
        with gr.Row():
            bar["share"] = gr.Button(I18N("share"), size="sm")
            bar["revoke"] = gr.Button(I18N("revoke"), size="sm")
        bar["link"] = gr.Textbox(
            label=I18N("link"), visible=False, buttons=["copy"], elem_id="share-link"
        )
    return bar


def build_api() -> dict:
    """The hidden components behind the API endpoints (inputs, outputs and their buttons)."""
    return {
        "text": gr.Textbox(visible=False),
        "info": gr.JSON(visible=False),
        "files": gr.File(file_count="multiple", visible=False),
        "request": gr.JSON(visible=False),
        "status": gr.JSON(visible=False),
        "chat": gr.Button(visible=False),
        "redraw": gr.Button(visible=False),
        "status_button": gr.Button(visible=False),
        "id": gr.Textbox(visible=False),
        "title": gr.Textbox(visible=False),
        "list": gr.JSON(visible=False),
        "turns": gr.JSON(visible=False),
        "archive": gr.File(visible=False),
        "index": gr.Number(visible=False),
        "choice": gr.Number(visible=False),
        "rating": gr.Textbox(visible=False),
        "comment": gr.Textbox(visible=False),
        "edit_text": gr.Textbox(visible=False),
        "days": gr.Number(visible=False),
        "link_info": gr.JSON(visible=False),
        **{
            name: gr.Button(visible=False)
            for name in (
                "conversations",
                "open",
                "export",
                "delete",
                "rename",
                "edit",
                "branch",
                "feedback",
                "share",
                "shares",
                "unshare",
                "tree",
                "copy_share",
                "follow",
            )
        },
    }


def build_chat() -> tuple[gr.Chatbot, gr.Dropdown]:
    """The chat (its Edit button makes a branch, its thumbs rate a reply: ui/branches.py) and
    the Alternatives dropdown under it (every ‹ n/m › of the visible path)."""
    chatbot = gr.Chatbot(
        label=I18N("chat"),
        height=560,
        buttons=["copy"],
        editable="user",
        feedback_options=("Like", "Dislike"),
        elem_id="chat",
    )
    branches = gr.Dropdown(
        [], label=I18N("branches"), visible=False, interactive=True, elem_id="branches"
    )
    return chatbot, branches


def build_buttons() -> tuple[gr.Button, ...]:
    """Stop, Retry, Undo, Clear and Read aloud, in one row."""
    with gr.Row():
        return (
            gr.Button(I18N("stop"), variant="stop", size="sm"),
            gr.Button(I18N("retry"), size="sm"),
            gr.Button(I18N("undo"), size="sm"),
            gr.Button(I18N("clear"), size="sm"),
            gr.Button(I18N("speak"), size="sm"),
        )


def build_examples(box: gr.MultimodalTextbox) -> None:
    """Example messages with the bundled photo, when it is there."""
    example = ASSETS / "example.png"
    if example.exists():
        gr.Examples(
            [
                [{"text": "What is in this photo?", "files": [str(example)]}],
                [{"text": "이 사진에 무엇이 있나요?", "files": [str(example)]}],
            ],
            inputs=[box],
            label=I18N("examples"),
        )


def build_card() -> tuple[list, gr.Button]:
    """The image card: the last picture's prompt, negative prompt, seed and steps, and Redraw."""
    with gr.Accordion(I18N("card"), open=False):
        prompt = gr.Textbox(label=I18N("prompt"), lines=2)
        with gr.Row():
            negative = gr.Textbox(label=I18N("negative"))
            seed = gr.Number(label=I18N("seed"), precision=0, minimum=0)
            steps = gr.Number(
                label=I18N("steps"), precision=0, minimum=1, maximum=MAX_GENERATION_STEPS
            )
        redraw = gr.Button(I18N("redraw"))
    return [prompt, negative, seed, steps], redraw


def build_layout(header_text: str, browser_secret: str | None = None) -> Layout:
    """The page: the sidebar of conversations beside the chat column; call inside gr.Blocks."""
    # a random secret per browser, encrypted with a key that survives restarts
    # (history.browser_secret)
    owner = gr.BrowserState(None, storage_key="chatbot-owner", secret=browser_secret)
    sidebar = build_sidebar()
    conv = gr.State(
        None, time_to_live=IDLE_CONVERSATION_S
    )  # idle sessions leave memory; the store keeps them
    head = gr.Markdown(header_text)
    chatbot, branches = build_chat()
    box = gr.MultimodalTextbox(
        placeholder=I18N("placeholder"),
        file_count="multiple",
        sources=["upload", "microphone"],
        max_plain_text_length=MAX_MESSAGE_CHARS * 2,
        show_label=False,
        autofocus=True,
        elem_id="chat-box",
        interactive=False,
    )  # until the page's load event has given it its owner
    draw_toggle = gr.Checkbox(False, label=I18N("draw"))
    stop, retry, undo, clear, speak = build_buttons()
    comment = gr.Textbox(
        label=I18N("comment"), max_lines=2, max_length=MAX_FEEDBACK_COMMENT_CHARS, elem_id="comment"
    )
    spoken = gr.Audio(
        label=I18N("speak"), autoplay=True, visible=True, interactive=False, type="filepath"
    )
    build_examples(box)
    card, redraw = build_card()
    api = build_api()
    return Layout(
        conv=conv,
        head=head,
        chatbot=chatbot,
        box=box,
        draw_toggle=draw_toggle,
        stop=stop,
        retry=retry,
        undo=undo,
        clear=clear,
        speak=speak,
        spoken=spoken,
        card=card,
        redraw=redraw,
        timer=gr.Timer(1.0),
        branches=branches,
        comment=comment,
        api=api,
        sidebar=sidebar,
        owner=owner,
    )
