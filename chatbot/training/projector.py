"""Train the input projector of a LLaVA-style VLM, in LLaVA's two stages.

Stage 1 (feature alignment): the vision encoder and the LLM are frozen; only the
multi_modal_projector learns to turn image features into "words" the frozen LLM reads,
from image-caption pairs. The loss is on the caption tokens only (labels -100 on the
prompt and the image tokens), so the projector is not rewarded for predicting the template.
Stage 2 (instruction tuning): image-question-answer pairs; the projector keeps learning
and LoRA adapters (peft) on the LLM's attention learn to answer. The adapters are merged
into the weights before saving, so the output folder is a plain checkpoint that
`LlavaForConditionalGeneration.from_pretrained(OUT)` and the app (`--profile hub --model OUT`) load.

Held-out evaluation, before and after: caption (or answer) choice accuracy — the model
ranks the true text against up to 7 other held-out texts for the same prompt by mean
token log-likelihood given the image — and teacher-forced token accuracy on the target.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..config import TRAIN_MAX_CAPTION_TOKENS
from ..vision.labelsets import is_korean
from .data import Pair, load_image, load_pairs, split_pairs
from .loop import TrainReport, TrainSettings, batch_indices, pick_device, train_steps

STAGE1_PROMPT = {"en": "Describe the image briefly.", "ko": "이미지를 짧게 설명해 주세요."}
CHOICES = 8  # candidates per held-out pair in the choice accuracy
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)"


def prompt_for(pair: Pair) -> str:
    """Stage 2 asks the pair's question; stage 1 asks for a caption in the caption's language."""
    return pair.prompt or STAGE1_PROMPT["ko" if is_korean(pair.text) else "en"]


def find_projector(model):
    """The input projector module (LLaVA: multi_modal_projector; Idefics3: connector)."""
    inner = getattr(model, "model", model)
    for name, module in inner.named_children():
        if any(w in name for w in ("projector", "connector", "merger")):
            return name, module
    raise ValueError(f"{type(model).__name__} has no projector/connector module to train")


def encode(processor, pair: Pair, target: str | None = None) -> dict:
    """One example: chat prompt with the image, then the target text and the end-of-sequence
    token. labels are -100 everywhere but on the target tokens."""
    import torch

    tok = processor.tokenizer
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt_for(pair)}]}
    ]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    enc = processor(
        text=prompt, images=[load_image(pair.image)], return_tensors="pt", add_special_tokens=False
    )
    answer = tok(target if target is not None else pair.text, add_special_tokens=False)["input_ids"]
    answer = answer[:TRAIN_MAX_CAPTION_TOKENS] + [tok.eos_token_id]
    ids = enc["input_ids"][0]
    example = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}
    example["input_ids"] = torch.cat([ids, torch.tensor(answer)])
    example["labels"] = torch.cat([torch.full_like(ids, -100), torch.tensor(answer)])
    return example


def collate(examples: list[dict], pad_id: int, device: str) -> dict:
    """Right-padded batch; padding is masked out of attention and loss."""
    import torch

    n = max(len(e["input_ids"]) for e in examples)
    batch = {
        "input_ids": torch.full((len(examples), n), pad_id),
        "labels": torch.full((len(examples), n), -100),
        "attention_mask": torch.zeros((len(examples), n), dtype=torch.long),
    }
    for i, e in enumerate(examples):
        k = len(e["input_ids"])
        batch["input_ids"][i, :k], batch["labels"][i, :k], batch["attention_mask"][i, :k] = (
            e["input_ids"],
            e["labels"],
            1,
        )
    for key in examples[0]:
        if key not in batch:
            batch[key] = torch.cat([e[key] for e in examples])
    return {k: v.to(device) for k, v in batch.items()}


def token_stats(model, batch) -> tuple:
    """Per sequence: mean NLL over the target tokens, next-token hits and target length."""
    import torch

    logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[:, :-1].float()
    labels = batch["labels"][:, 1:]
    mask = labels != -100
    nll = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), labels.clamp(min=0), reduction="none"
    )
    n = mask.sum(1)
    return (nll * mask).sum(1) / n.clamp(min=1), ((logits.argmax(-1) == labels) & mask).sum(1), n


def evaluate(model, processor, held: list[Pair], device: str) -> dict:
    """Choice accuracy and token accuracy on the held-out pairs (see the module docstring)."""
    import torch

    model.eval()
    pad, right, hits, total = processor.tokenizer.pad_token_id, 0, 0, 0
    with torch.no_grad():
        for i, pair in enumerate(held):
            others = list(
                dict.fromkeys(
                    p.text
                    for p in held
                    if prompt_for(p) == prompt_for(pair) and p.text != pair.text
                )
            )
            cands = [pair.text] + [
                others[(i + k) % len(others)] for k in range(min(CHOICES - 1, len(others)))
            ]
            nll, h, n = token_stats(
                model, collate([encode(processor, pair, c) for c in cands], pad, device)
            )
            right += int(nll.argmin()) == 0
            hits, total = hits + int(h[0]), total + int(n[0])
    return {
        "choice accuracy": right / len(held),
        "token accuracy": hits / max(total, 1),
        "candidates": min(CHOICES, len({p.text for p in held})),
        "pairs": len(held),
    }


def add_lora(model, r: int, alpha: int):
    """LoRA adapters on the LLM's attention projections (the vision tower gets none)."""
    from peft import LoraConfig, get_peft_model

    return get_peft_model(
        model,
        LoraConfig(
            r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=LORA_TARGETS, bias="none"
        ),
    )


def prepare(model, stage: int, lora_r: int, lora_alpha: int):
    """Freeze everything, then open the projector (both stages) and LoRA (stage 2).
    Returns (the model to train, {name: trainable parameter})."""
    for p in model.parameters():
        p.requires_grad_(False)
    if stage == 2:
        model = add_lora(model, lora_r, lora_alpha)
    for p in find_projector(model.get_base_model() if stage == 2 else model)[1].parameters():
        p.requires_grad_(True)
    return model, {n: p for n, p in model.named_parameters() if p.requires_grad}


def train_projector(
    stage: int,
    data: str | Path,
    model_path: str | Path,
    out: str | Path,
    settings: TrainSettings = TrainSettings(),
    lora_r: int = 8,
    lora_alpha: int = 16,
) -> TrainReport:
    """Stage 1 on DATA/captions.jsonl or stage 2 on DATA/qa.jsonl; the trained VLM is saved
    to `out` with its processor (LoRA merged), loadable by path."""
    if stage not in (1, 2):
        raise ValueError(
            f"stage is 1 (projector on captions) or 2 (projector + LoRA on questions), not {stage}"
        )
    train, held = split_pairs(
        load_pairs(data, "captions" if stage == 1 else "qa")
    )  # before any import
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    held = held[: settings.eval_pairs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device, bf16 = pick_device(settings)
    torch.manual_seed(settings.seed)
    processor = AutoProcessor.from_pretrained(str(model_path))
    base = AutoModelForImageTextToText.from_pretrained(str(model_path)).to(device)
    model, params = prepare(base, stage, lora_r, lora_alpha)
    pad = processor.tokenizer.pad_token_id
    n = settings.batch_size

    def batch_at(step: int) -> dict:
        return collate(
            [
                encode(processor, train[i])
                for i in batch_indices(len(train), n, step, settings.seed)
            ],
            pad,
            device,
        )

    fixed = batch_at(-1)
    loss_before, before = fixed_batch_loss(model, fixed), evaluate(model, processor, held, device)

    def loss_at(step: int):
        model.train()
        return model(**batch_at(step)).loss

    t0 = time.perf_counter()
    losses, start = train_steps(
        params, loss_at, settings, out, device, bf16, f"projector stage {stage}"
    )
    seconds = time.perf_counter() - t0
    report = TrainReport(
        task=f"projector stage {stage}" + (" (+ LoRA)" if stage == 2 else ""),
        model=str(model_path),
        out=str(out),
        steps=settings.steps,
        resumed_from=start,
        train_pairs=len(train),
        held_out_pairs=len(held),
        losses=losses,
        loss_before=loss_before,
        loss_after=fixed_batch_loss(model, fixed),
        eval_before=before,
        eval_after=evaluate(model, processor, held, device),
        seconds=seconds,
        pairs_per_s=(settings.steps - start) * min(n, len(train)) / max(seconds, 1e-9),
        device=device,
        bf16=bf16,
    )
    save_model(model, processor, out, stage)
    report.save()
    return report


def fixed_batch_loss(model, batch) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return float(model(**batch).loss)


def save_model(model, processor, out: Path, stage: int) -> None:
    """A plain checkpoint: LoRA merged into the weights (stage 2), frozen parts saved as loaded."""
    if stage == 2:
        model = model.merge_and_unload()
    model.eval().save_pretrained(out)
    processor.save_pretrained(out)
