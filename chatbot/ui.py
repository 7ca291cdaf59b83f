"""Gradio UI: the only module that imports gradio.

Per-session state is one Conversation in a gr.State, so two browsers (or two
gradio_client.Client objects) never share files, history or encoded images.
The chatbot is re-rendered from the Conversation, so undo / retry / clear only
edit the Conversation. `/chat` is the documented API endpoint for programs.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from .config import MAX_GENERATION_STEPS, MAX_MESSAGE_CHARS
from .conversation import Conversation, Turn
from .pipeline import Pipeline

ASSETS = Path(__file__).resolve().parent.parent / "assets"

I18N = gr.I18n(
    en={"placeholder": "Ask anything; drop in photos (png, jpg, webp, gif), PDFs or tables (csv, xlsx)…",
        "stop": "⏹ Stop", "retry": "🔄 Retry", "undo": "↩️ Undo", "clear": "🗑️ Clear",
        "chat": "Conversation", "examples": "Examples", "draw": "🎨 Image mode: draw a picture for my message",
        "card": "🎨 Image card: edit the prompt or seed and redraw (no new LLM call)", "prompt": "Prompt",
        "negative": "Negative prompt", "seed": "Seed", "steps": "Steps", "redraw": "🎨 Redraw"},
    ko={"placeholder": "무엇이든 물어보세요. 사진(png, jpg, webp, gif), PDF, 표(csv, xlsx)를 올릴 수 있어요…",
        "stop": "⏹ 중지", "retry": "🔄 다시 생성", "undo": "↩️ 되돌리기", "clear": "🗑️ 지우기",
        "chat": "대화", "examples": "예시", "draw": "🎨 이미지 모드: 메시지마다 그림 그리기",
        "card": "🎨 이미지 카드: 프롬프트나 시드를 고쳐 다시 그리기 (LLM 호출 없음)", "prompt": "프롬프트",
        "negative": "네거티브 프롬프트", "seed": "시드", "steps": "스텝", "redraw": "🎨 다시 그리기"},
)


def _paths(files) -> list[str]:
    """UI uploads arrive as paths, API uploads as {"path": ...}: normalise both here."""
    out = []
    for f in files or []:
        out.append(f if isinstance(f, str) else f.get("path") or f.get("name"))
    return [p for p in out if p]


def render(conv: Conversation | None) -> list[dict]:
    """Conversation -> Chatbot messages; each chain step is a collapsible 'thought'."""
    msgs: list[dict] = []
    for t in (conv.turns if conv else []):
        if t.role == "user":
            msgs += [{"role": "user", "content": {"path": a.path}} for a in t.attachments]
            if t.text:
                msgs.append({"role": "user", "content": t.text})
            continue
        for s in t.steps:
            msgs.append({"role": "assistant", "content": s.detail or "…",
                         "metadata": {"title": s.title, "status": "done" if s.done else "pending"}})
        if t.text:
            msgs.append({"role": "assistant", "content": t.text + (" ⏹" if t.stopped else "")})
        msgs += [{"role": "assistant", "content": {"path": f}} for f in t.files]
        if t.error:
            msgs.append({"role": "assistant", "content": f"⚠️ {t.error}"})
    return msgs


def api_reply(reply: Turn) -> tuple[str, list[str], dict]:
    """What /chat returns: text as text, files as downloadable files, the chain as JSON."""
    text = (reply.text + (f"\n\n⚠️ {reply.error}" if reply.error else "")).strip()
    info = {"steps": [{"title": s.title, "detail": s.detail, "done": s.done} for s in reply.steps],
            "stopped": reply.stopped, "error": reply.error, "metrics": reply.metrics, "image_request": reply.card}
    return text, list(reply.files), info


def header(pipeline: Pipeline) -> str:
    cfg, m = pipeline.cfg, pipeline.models
    if m.backend is not None:
        chain = m.backend.describe()
        if not m.backend.sees_images:
            chain += " · photos are read by OCR: no vision-language model is available offline"
    else:
        chain = f"{cfg.llm.model or cfg.llm.server_url} — {m.error or m.progress}"
    gen = cfg.generator or ("none on this profile (no text-to-image weights ship on PyPI)"
                            if cfg.profile == "offline" else "resolved after the LLM loads")
    return (f"**Profile `{cfg.profile}`** ({cfg.profile_reason}) · model {m.progress}\n\n"
            f"🖼️ encoder → projector → 💬 LLM: `{chain}`\n\n"
            f"🎨 output projector → generator: `{gen}`")


def status(pipeline: Pipeline) -> dict:
    """What /status returns: the profile, why it was chosen, and the models' loading state."""
    m = pipeline.models
    return {"profile": pipeline.cfg.profile, "reason": pipeline.cfg.profile_reason, "progress": m.progress,
            "error": m.error, "llm": m.backend.describe() if m.backend else pipeline.cfg.llm.model,
            "sees_images": bool(m.backend and m.backend.sees_images), "generator": pipeline.cfg.generator,
            "load_seconds": round(m.load_seconds, 2)}


def build_ui(pipeline: Pipeline) -> gr.Blocks:
    with gr.Blocks(title="Multimodal chatbot") as demo:
        conv_state = gr.State(None)
        head = gr.Markdown(header(pipeline))
        chatbot = gr.Chatbot(label=I18N("chat"), height=560, buttons=["copy"])
        box = gr.MultimodalTextbox(placeholder=I18N("placeholder"), file_count="multiple",
                                   sources=["upload"], max_plain_text_length=MAX_MESSAGE_CHARS * 2,
                                   show_label=False, autofocus=True)
        draw_toggle = gr.Checkbox(False, label=I18N("draw"))
        with gr.Row():
            stop = gr.Button(I18N("stop"), variant="stop", size="sm")
            retry = gr.Button(I18N("retry"), size="sm")
            undo = gr.Button(I18N("undo"), size="sm")
            clear = gr.Button(I18N("clear"), size="sm")
        examples = [p for p in (ASSETS / "example.png",) if p.exists()]
        if examples:
            gr.Examples([[{"text": "What is in this photo?", "files": [str(examples[0])]}],
                         [{"text": "이 사진에 무엇이 있나요?", "files": [str(examples[0])]}]],
                        inputs=[box], label=I18N("examples"))
        with gr.Accordion(I18N("card"), open=False):
            card_prompt = gr.Textbox(label=I18N("prompt"), lines=2)
            with gr.Row():
                card_negative = gr.Textbox(label=I18N("negative"))
                card_seed = gr.Number(label=I18N("seed"), precision=0, minimum=0)
                card_steps = gr.Number(label=I18N("steps"), precision=0, minimum=1, maximum=MAX_GENERATION_STEPS)
            redraw_btn = gr.Button(I18N("redraw"))
        card = [card_prompt, card_negative, card_seed, card_steps]
        # hidden outputs of the /chat API endpoint
        api_text, api_info = gr.Textbox(visible=False), gr.JSON(visible=False)
        api_files = gr.File(file_count="multiple", visible=False)
        api_button = gr.Button(visible=False)

        def run(conv, text, files, draw=False):
            conv = conv or Conversation()
            for reply in pipeline.respond(conv, text, files, draw=draw):
                yield conv, reply

        def chat_ui(message, conv, draw):
            message = message or {}
            for conv, _ in run(conv, message.get("text", ""), _paths(message.get("files")), draw):
                yield render(conv), None, conv

        def fill_card(conv):
            req = (conv.extras.get("image_request") if conv else None)
            if req is None:
                return [gr.skip()] * 4
            return req.prompt, req.negative_prompt, req.seed, req.steps

        def edited_request(conv, prompt, negative, seed, steps):
            from .output_projector import ImageRequest
            prev = conv.extras.get("image_request") if conv else None
            base = prev.to_dict() if prev else {}
            return ImageRequest.from_dict({**base, "prompt": prompt or "", "negative_prompt": negative or "",
                                           "seed": int(seed if seed is not None else base.get("seed", 0)),
                                           "steps": int(steps or base.get("steps", 1))})

        def redraw_ui(conv, prompt, negative, seed, steps):
            conv = conv or Conversation()
            for _ in pipeline.redraw(conv, edited_request(conv, prompt, negative, seed, steps)):
                yield render(conv), conv

        def redraw_api(request: dict, conv):
            """Draw an image request again (fields of /chat's info["image_request"]) without asking the LLM."""
            conv = conv or Conversation()
            r = request or {}
            for reply in pipeline.redraw(conv, edited_request(conv, r.get("prompt"), r.get("negative_prompt"),
                                                              r.get("seed"), r.get("steps"))):
                yield (*api_reply(reply), conv)

        def chat_api(message, conv):
            """Send one message ({"text": ..., "files": [...]}); stream the reply text, files and chain steps."""
            message = message or {}
            for conv, reply in run(conv, message.get("text", ""), _paths(message.get("files"))):
                yield (*api_reply(reply), conv)

        def stop_fn(conv):
            if conv is not None:
                conv.stop_event.set()

        def retry_fn(conv):
            user = conv.undo() if conv else None
            if user is None:
                yield render(conv), conv
                return
            for conv, _ in run(conv, user.text, [a.path for a in user.attachments]):
                yield render(conv), conv

        def undo_fn(conv):
            user = conv.undo() if conv else None
            box_value = {"text": user.text, "files": [a.path for a in user.attachments]} if user else None
            return render(conv), box_value, conv

        def clear_fn(conv):
            if conv is not None:
                conv.stop_event.set()
                conv.clear()
                if pipeline.models.backend is not None:
                    pipeline.models.backend.forget(conv.id)
            return [], None, conv

        # One model, one device: every event that runs the model shares one queue slot.
        model_slot = dict(concurrency_id="model", concurrency_limit=1)
        box.submit(chat_ui, [box, conv_state, draw_toggle], [chatbot, box, conv_state], api_visibility="private",
                   **model_slot).then(fill_card, [conv_state], card, api_visibility="private").then(
            lambda: header(pipeline), None, head, api_visibility="private", queue=False)
        redraw_btn.click(redraw_ui, [conv_state, *card], [chatbot, conv_state], api_visibility="private",
                         **model_slot).then(fill_card, [conv_state], card, api_visibility="private")
        api_request = gr.JSON(visible=False)
        gr.Button(visible=False).click(redraw_api, [api_request, conv_state], [api_text, api_files, api_info, conv_state],
                                       api_name="redraw", **model_slot)
        api_button.click(chat_api, [box, conv_state], [api_text, api_files, api_info, conv_state],
                         api_name="chat", **model_slot).then(fill_card, [conv_state], card, api_visibility="private")
        retry.click(retry_fn, [conv_state], [chatbot, conv_state], api_name="retry", **model_slot)
        stop.click(stop_fn, [conv_state], None, api_name="stop", queue=False)
        undo.click(undo_fn, [conv_state], [chatbot, box, conv_state], api_name="undo")
        clear.click(clear_fn, [conv_state], [chatbot, box, conv_state], api_name="clear")

        status_json = gr.JSON(visible=False)
        gr.Button(visible=False).click(lambda: status(pipeline), None, status_json, api_name="status", queue=False)

        timer = gr.Timer(1.0)
        timer.tick(lambda: (header(pipeline), gr.Timer(active=pipeline.models.progress not in ("ready", "failed"))),
                   None, [head, timer], api_visibility="private", queue=False)
        def on_load():
            pipeline.models.start()
            return header(pipeline)
        demo.load(on_load, None, head, api_visibility="private", queue=False)
    return demo
