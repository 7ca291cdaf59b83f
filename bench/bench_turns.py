"""A five-turn image conversation: time to first token of turn 5 vs turn 1, ours vs the LLaVA-demo
way.

Model: an Idefics3 (SmolVLM class) with SmolVLM-256M-Instruct's dimensions and random weights
(decoding cost does not depend on weight values), saved and loaded by path like a real checkpoint.
Each turn adds one new photo and asks a question; replies are 16 tokens.
  ours     : pipeline.respond -> each photo encoded once per conversation, KV prefix cache reused
  baseline : what the LLaVA demo does every turn: processor(full history, all images) -> generate,
             i.e. every image re-encoded and the whole history prefilled again.
Usage: .venv/bin/python bench/bench_turns.py [--turns 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Lines, record  # noqa: E402

REPLY_TOKENS = 16


def build_smolvlm_256m_sized(path: Path) -> Path:
    """Idefics3 with SmolVLM-256M's shapes: SigLIP 12x768 (512 px, patch 16), 30-layer 576-wide
    Llama."""
    import torch
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
        LlamaConfig,
    )

    from chatbot.models.tiny import CHATML_TEMPLATE, IDEFICS3_SPECIALS, build_tokenizer

    torch.manual_seed(0)
    tok = build_tokenizer(IDEFICS3_SPECIALS)
    text = LlamaConfig(
        vocab_size=49280,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rope_theta=100000,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
        tie_word_embeddings=True,
    )
    cfg = Idefics3Config(
        vision_config=dict(
            image_size=512,
            patch_size=16,
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
        ),
        text_config=text.to_dict(),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        scale_factor=4,
    )
    model = Idefics3ForConditionalGeneration(cfg).eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    ip = Idefics3ImageProcessorPil(
        size={"longest_edge": 512}, max_image_size={"longest_edge": 512}, do_image_splitting=False
    )
    Idefics3Processor(
        image_processor=ip, tokenizer=tok, image_seq_len=64, chat_template=CHATML_TEMPLATE
    ).save_pretrained(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=5)
    args = ap.parse_args()
    import torch
    from PIL import Image

    from chatbot.context import build_messages
    from chatbot.conversation import Conversation
    from chatbot.models.decoding import Sampling
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config

    tmp = Path(tempfile.mkdtemp())
    model_dir = build_smolvlm_256m_sized(tmp / "smolvlm-256m-sized")
    pipe = Pipeline(
        build_config("hub", model=str(model_dir)),
        Sampling(max_new_tokens=REPLY_TOKENS, min_new_tokens=REPLY_TOKENS),
    )
    list(pipe.models.wait())
    b = pipe.models.backend
    photos = []
    for i in range(args.turns):
        p = tmp / f"photo{i}.png"
        Image.new("RGB", (640, 480), (40 * i, 120, 200 - 30 * i)).save(p)
        photos.append(str(p))

    # warm-up on a throwaway conversation: first calls pay one-off kernel and allocator set-up
    list(pipe.respond(Conversation(), "warm up", [photos[-1]]))
    b.model.generate(
        **b.processor(
            text=b.image_token,
            images=[Image.open(photos[-1]).convert("RGB")],
            return_tensors="pt",
            **b.proc_kwargs,
        ),
        max_new_tokens=1,
    )

    conv, ours = Conversation(), []
    for i in range(args.turns):
        *_, reply = pipe.respond(
            conv, f"Photo {i + 1}: what changed compared with the earlier photos?", [photos[i]]
        )
        assert reply.error is None, reply.error
        ours.append(reply.metrics["ttft_s"])  # message in -> first token out, encoding included

    # baseline: same conversation, rebuilt from scratch every turn (LLaVA demo style)
    base = []
    for i in range(args.turns):
        turns = conv.turns[: 2 * i + 2]
        msgs = build_messages(
            Conversation(turns=turns),
            [a for t in turns for a in t.attachments],
            True,
            can_draw=pipe.models.can_draw,
        )  # the same prompt as ours
        text = b.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        t = time.perf_counter()
        inputs = b.processor(
            text=text,
            images=[Image.open(p).convert("RGB") for p in photos[: i + 1]],
            return_tensors="pt",
            add_special_tokens=False,
            **b.proc_kwargs,
        )
        with torch.inference_mode():
            b.model.generate(**inputs, max_new_tokens=1, do_sample=False)
        base.append(time.perf_counter() - t)

    out = Lines()
    out.say(
        f"model: {b.describe()} (random weights, real sizes); {REPLY_TOKENS}-token replies; "
        "1 new photo per turn"
    )
    out.say("turn  TTFT ours (s)  TTFT baseline (s)  baseline/ours")
    for i, (o, r) in enumerate(zip(ours, base)):
        out.say(f"{i + 1:>4}  {o:13.2f}  {r:17.2f}  {r / o:13.1f}x")
    out.say(
        f"ours: turn {args.turns} / turn 1 = {ours[-1] / ours[0]:.2f} (aim <= 1.0); "
        f"baseline: turn {args.turns} / turn 1 = {base[-1] / base[0]:.2f}"
    )
    record("bench_turns", out)


if __name__ == "__main__":
    main()
