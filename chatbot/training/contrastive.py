"""Fine-tune a CLIP or SigLIP checkpoint on a folder of captioned images.

Both towers train, with the checkpoint's own learned temperature (and SigLIP's bias),
so the saved folder is a drop-in `vision` model for labels and search. Retrieval on the
held-out images (recall@1 image->text and text->image) is measured before and after,
with a caption counted right when it is any caption of the image (identical captions of
different images, "two red circles", are not held against the model).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from ..vision.encoder import VisionModel, model_kind
from .data import Pair, load_image, load_pairs, split_pairs
from .loop import TrainReport, TrainSettings, batch_indices, pick_device, train_steps
from .losses import model_loss


def pooled(out):
    """transformers 5 wraps the projected embedding in a ModelOutput (pooler_output)."""
    return getattr(out, "pooler_output", out)


def group_by_image(pairs: list[Pair]) -> list[tuple[Path, list[str]]]:
    """[(image, its captions)], in first-seen order: a batch holds each image once, so an
    image's English and Korean captions are never each other's negatives."""
    groups: dict[Path, list[str]] = defaultdict(list)
    for p in pairs:
        groups[p.image].append(p.text)
    return list(groups.items())


def batch_loss(vm: VisionModel, groups, idx: list[int], step: int):
    """The contrastive loss of one batch: one caption per image, picked by (step, image)."""
    images = [load_image(groups[i][0]) for i in idx]
    texts = [groups[i][1][(step + i) % len(groups[i][1])] for i in idx]
    pix = vm.processor.image_processor(images=images, return_tensors="pt")["pixel_values"]
    tok = vm.processor.tokenizer(texts, return_tensors="pt", **vm.text_kwargs())
    img = pooled(vm.model.get_image_features(pixel_values=pix.to(vm.device)))
    txt = pooled(vm.model.get_text_features(**{k: v.to(vm.device) for k, v in tok.items()}))
    return model_loss(vm.model, vm.kind, img.float(), txt.float())


def recall_at_1(vm: VisionModel, groups) -> dict:
    """Retrieval among the held-out images and all their captions."""
    texts = [t for _, caps in groups for t in caps]
    vm.model.eval()
    img = vm.embed_images([load_image(path) for path, _ in groups])
    txt = vm.embed_texts(texts)
    sim = img @ txt.T
    i2t = sum(texts[j] in groups[g][1] for g, j in enumerate(sim.argmax(1).tolist())) / len(groups)
    t2i = sum(texts[j] in groups[g][1] for j, g in enumerate(sim.argmax(0).tolist())) / len(texts)
    return {
        "recall@1 image->text": i2t,
        "recall@1 text->image": t2i,
        "chance": 1 / len(set(texts)),
        "images": len(groups),
    }


def train_contrastive(
    data: str | Path,
    model_path: str | Path,
    out: str | Path,
    settings: TrainSettings = TrainSettings(),
) -> TrainReport:
    """Fine-tune the CLIP/SigLIP at model_path on data/captions.jsonl; save to out (with its
    processor)."""
    train, held = split_pairs(load_pairs(data, "captions"))  # a bad folder stops before any import
    import torch
    from transformers import AutoModel, AutoProcessor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device, bf16 = pick_device(settings)
    torch.manual_seed(settings.seed)
    model = AutoModel.from_pretrained(str(model_path)).to(device)
    vm = VisionModel(
        str(model_path),
        model,
        AutoProcessor.from_pretrained(str(model_path)),
        model_kind(model.config),
        device,
    )
    groups, held_groups = group_by_image(train), group_by_image(held)[: settings.eval_pairs]
    fixed = batch_indices(len(groups), settings.batch_size, -1, settings.seed)
    loss_before, before = fixed_loss(vm, groups, fixed), recall_at_1(vm, held_groups)

    def loss_at(step: int):
        vm.model.train()
        return batch_loss(
            vm, groups, batch_indices(len(groups), settings.batch_size, step, settings.seed), step
        )

    t0 = time.perf_counter()
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    losses, start = train_steps(
        params, loss_at, settings, out, device, bf16, f"{vm.kind} fine-tuning"
    )
    seconds = time.perf_counter() - t0
    report = TrainReport(
        task=f"{vm.kind} contrastive fine-tuning",
        model=str(model_path),
        out=str(out),
        steps=settings.steps,
        resumed_from=start,
        train_pairs=len(train),
        held_out_pairs=len(held),
        losses=losses,
        loss_before=loss_before,
        loss_after=fixed_loss(vm, groups, fixed),
        eval_before=before,
        eval_after=recall_at_1(vm, held_groups),
        seconds=seconds,
        pairs_per_s=(settings.steps - start)
        * min(settings.batch_size, len(groups))
        / max(seconds, 1e-9),
        device=device,
        bf16=bf16,
    )
    model.eval().save_pretrained(out)
    vm.processor.save_pretrained(out)
    report.save()
    return report


def fixed_loss(vm: VisionModel, groups, idx: list[int]) -> float:
    import torch

    vm.model.eval()
    with torch.no_grad():
        return float(batch_loss(vm, groups, idx, 0))
