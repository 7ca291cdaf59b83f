"""Training: the two contrastive losses against loop implementations of their formulas (values
and gradients), the data folder checks, the synthetic set, CLIP/SigLIP fine-tuning, resuming,
and LLaVA's projector stages 1 and 2 on a tiny LLaVA, whose output loads back and generates.

Every run is a few steps on CPU with a fixed seed; the tiny models are random, so the tests
assert that the loss falls and the plumbing holds, not that the models become good.
"""

from __future__ import annotations

import json
import math

import pytest

from chatbot.training import DataError, TrainSettings, load_pairs, split_pairs, write_synthetic
from chatbot.training.losses import clip_loss, make_loss_head, siglip_loss


# ---- losses against the formulas, written as loops ----------------------------------------------
def loop_clip(img, txt, log_scale):
    import torch

    n, scale = len(img), torch.clamp(log_scale, max=math.log(100)).exp()
    cos = [
        [torch.dot(img[i], txt[j]) / (img[i].norm() * txt[j].norm()) for j in range(n)]
        for i in range(n)
    ]
    image_side = (
        sum(
            -torch.log(
                torch.exp(scale * cos[i][i]) / sum(torch.exp(scale * cos[i][j]) for j in range(n))
            )
            for i in range(n)
        )
        / n
    )
    text_side = (
        sum(
            -torch.log(
                torch.exp(scale * cos[j][j]) / sum(torch.exp(scale * cos[i][j]) for i in range(n))
            )
            for j in range(n)
        )
        / n
    )
    return (image_side + text_side) / 2


def loop_siglip(img, txt, log_scale, bias):
    import torch

    n, t, total = len(img), log_scale.exp(), 0
    for i in range(n):
        for j in range(n):
            z = 1.0 if i == j else -1.0
            cos = torch.dot(img[i], txt[j]) / (img[i].norm() * txt[j].norm())
            total = total - torch.log(1 / (1 + torch.exp(-z * (t * cos + bias))))
    return total / n


def leaves(*values):
    import torch

    return [
        torch.tensor(v, dtype=torch.float64, requires_grad=True)
        if not hasattr(v, "shape")
        else v.clone().double().requires_grad_(True)
        for v in values
    ]


@pytest.mark.parametrize("log_scale", [math.log(1 / 0.07), 2.0, math.log(250)])
def test_clip_loss_matches_the_formula_and_its_gradients(log_scale):
    import torch

    torch.manual_seed(0)
    a = leaves(torch.randn(5, 8), torch.randn(5, 8), log_scale)
    b = leaves(a[0].detach(), a[1].detach(), log_scale)
    fast, slow = clip_loss(*a), loop_clip(*b)
    assert torch.allclose(fast, slow, atol=1e-10)
    for ga, gb in zip(torch.autograd.grad(fast, a), torch.autograd.grad(slow, b)):
        assert torch.allclose(ga, gb, atol=1e-10)
    if log_scale > math.log(100):  # clamped: 1/tau stays at 100 and stops learning
        assert torch.autograd.grad(clip_loss(*a), a[2])[0] == 0


def test_siglip_loss_matches_the_formula_and_its_gradients():
    import torch

    torch.manual_seed(1)
    a = leaves(torch.randn(6, 8), torch.randn(6, 8), math.log(10), -10.0)
    b = leaves(a[0].detach(), a[1].detach(), math.log(10), -10.0)
    fast, slow = siglip_loss(*a), loop_siglip(*b)
    assert torch.allclose(fast, slow, atol=1e-10)
    for ga, gb in zip(torch.autograd.grad(fast, a), torch.autograd.grad(slow, b)):
        assert torch.allclose(ga, gb, atol=1e-10)


def test_loss_heads_start_where_the_papers_start():
    import torch

    clip, siglip = make_loss_head("clip"), make_loss_head("siglip")
    assert (
        math.isclose(float(clip.log_scale.detach()), math.log(1 / 0.07), rel_tol=1e-6)
        and clip.bias is None
    )
    assert (
        math.isclose(float(siglip.log_scale.detach().exp()), 10, rel_tol=1e-5)
        and float(siglip.bias.detach()) == -10
    )
    x = torch.randn(4, 8)
    with torch.no_grad():  # matched pairs cost less
        assert float(clip(x, x)) < float(clip(x, x.flip(0))) and float(siglip(x, x)) < float(
            siglip(x, x.flip(0))
        )
    with pytest.raises(ValueError):
        make_loss_head("dino")


# ---- data --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("shapes"), n=120, seed=0)


def test_synthetic_set_has_english_and_korean_captions_and_questions(shapes):
    pairs, qa = load_pairs(shapes), load_pairs(shapes, "qa")
    assert len(pairs) == len(qa) == 240 and len({p.image for p in pairs}) == 120
    assert any(p.text.startswith(("a ", "two ", "three ")) for p in pairs)
    assert any("원" in p.text or "사각형" in p.text or "삼각형" in p.text for p in pairs)
    assert all(q.prompt.endswith("?") for q in qa)
    train, held = split_pairs(pairs)
    assert split_pairs(list(reversed(pairs)))[1] == list(reversed(held))  # by file name, not order
    assert (
        not {p.image for p in train} & {p.image for p in held}
        and 0.1 < len(held) / len(pairs) < 0.35
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "has no captions.jsonl"),
        ('{"image": "a.png", "caption": "ok"}\nnot json\n', "line 2 is not JSON"),
        ('{"image": "a.png"}\n', 'line 1 needs a non-empty text "caption"'),
        ('{"image": "missing.png", "caption": "x"}\n', "'missing.png' does not exist"),
        ('{"image": "../a.png", "caption": "x"}\n', "outside the data folder"),
        ('{"image": "notes.txt", "caption": "x"}\n', "is not an image"),
        ('{"image": "a.png", "caption": "x"}\n', "at least 2"),
    ],
)
def test_a_malformed_data_folder_is_explained(tmp_path, content, message):
    from PIL import Image

    folder = tmp_path / "data"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "a.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (folder / "notes.txt").write_text("x")
    if content is not None:
        (folder / "captions.jsonl").write_text(content)
    with pytest.raises(DataError, match=message):
        load_pairs(folder)


def test_the_commands_exit_with_the_message(tmp_path):
    from scripts.train_clip import main as train_clip
    from scripts.train_projector import main as train_projector

    with pytest.raises(SystemExit, match="is not a folder"):
        train_clip(["--data", str(tmp_path / "nope"), "--model", "x", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="has no qa.jsonl"):
        train_projector(
            ["--stage", "2", "--data", str(tmp_path), "--model", "x", "--out", str(tmp_path / "o")]
        )


# ---- contrastive fine-tuning --------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from chatbot.models.tiny import tiny_model_path

    root = tmp_path_factory.mktemp("training-models")
    return lambda name: tiny_model_path(name, root)


def quick(**kw) -> TrainSettings:
    return TrainSettings(
        **{"batch_size": 16, "lr": 1e-3, "progress": False, "eval_pairs": 24, **kw}
    )


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_contrastive_training_lowers_the_loss_and_saves_a_vision_model(
    shapes, tiny, tmp_path, kind
):
    from chatbot.training.contrastive import train_contrastive
    from chatbot.vision import Photo, label_photo, load_vision_model

    report = train_contrastive(shapes, tiny(f"tiny-{kind}"), tmp_path / "out", quick(steps=30))
    assert report.loss_after < report.loss_before and len(report.losses) == 30
    assert {"recall@1 image->text", "recall@1 text->image", "chance"} <= set(report.eval_after)
    assert report.seconds < 30 and report.pairs_per_s > 0
    assert json.loads((tmp_path / "out" / "train_report.json").read_text())["steps"] == 30
    trained = load_vision_model(str(tmp_path / "out"))
    assert trained.kind == kind
    from chatbot.training.data import load_image

    result = label_photo(
        trained, Photo("x", load_image(load_pairs(shapes)[0].image)), ["red circle", "blue square"]
    )
    assert result.scoring == ("sigmoid" if kind == "siglip" else "softmax")


def test_resuming_gives_the_same_run_as_not_stopping(shapes, tiny, tmp_path):
    from chatbot.training.contrastive import train_contrastive

    model = tiny("tiny-clip")
    straight = train_contrastive(shapes, model, tmp_path / "a", quick(steps=6, eval_pairs=4))
    train_contrastive(shapes, model, tmp_path / "b", quick(steps=3, save_every=2, eval_pairs=4))
    assert (tmp_path / "b" / "checkpoint" / "training_state.pt").exists()
    resumed = train_contrastive(
        shapes, model, tmp_path / "b", quick(steps=6, resume=True, eval_pairs=4)
    )
    assert resumed.resumed_from == 3 and len(resumed.losses) == 6
    assert resumed.losses == pytest.approx(straight.losses, abs=1e-5)


# ---- LLaVA projector stages ----------------------------------------------------------------------
def weights(model, part: str) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if part in n}


def test_stage1_labels_only_the_caption(shapes, tiny):
    from transformers import AutoProcessor

    from chatbot.training.projector import encode

    processor = AutoProcessor.from_pretrained(tiny("tiny-llava"))
    pair = load_pairs(shapes)[0]
    ex = encode(processor, pair)
    tok = processor.tokenizer
    target = tok(pair.text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    labelled = ex["labels"][ex["labels"] != -100].tolist()
    assert labelled == target and ex["input_ids"][-len(target) :].tolist() == target
    image_id = tok.convert_tokens_to_ids("<image>")
    assert (ex["input_ids"] == image_id).sum() == 16 and (ex["labels"] == image_id).sum() == 0


def test_projector_stages_train_and_the_checkpoint_loads_and_generates(
    shapes, tiny, tmp_path, capsys
):
    import torch
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from scripts.train_projector import main as train_projector

    base_path = tiny("tiny-llava")
    base = LlavaForConditionalGeneration.from_pretrained(base_path)
    train_projector(
        [
            "--stage",
            "1",
            "--data",
            str(shapes),
            "--model",
            str(base_path),
            "--out",
            str(tmp_path / "s1"),
            "--steps",
            "30",
            "--lr",
            "1e-2",
            "--eval-pairs",
            "8",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert (
        "held out before: choice accuracy" in printed
        and "held out after:  choice accuracy" in printed
    )
    report = json.loads((tmp_path / "s1" / "train_report.json").read_text())
    assert report["loss_after"] < report["loss_before"] - 0.005
    stage1 = LlavaForConditionalGeneration.from_pretrained(tmp_path / "s1").eval()
    for part, changed in (
        ("vision_tower", False),
        ("language_model", False),
        ("multi_modal_projector", True),
    ):
        before, after = weights(base, part), weights(stage1, part)
        assert before and any(not torch.equal(before[n], after[n]) for n in before) == changed, part
    generate(stage1, AutoProcessor.from_pretrained(tmp_path / "s1"), load_pairs(shapes)[0].image)

    from chatbot.training.projector import train_projector as stage

    r2 = stage(2, shapes, tmp_path / "s1", tmp_path / "s2", quick(steps=20, lr=1e-2, eval_pairs=8))
    assert r2.loss_after < r2.loss_before and r2.task == "projector stage 2 (+ LoRA)"
    stage2 = LlavaForConditionalGeneration.from_pretrained(tmp_path / "s2").eval()
    assert not any("lora" in n for n, _ in stage2.named_parameters())  # merged into the weights
    lm1, lm2 = weights(stage1, "language_model"), weights(stage2, "language_model")
    assert any(not torch.equal(lm1[n], lm2[n]) for n in lm1)
    generate(
        stage2, AutoProcessor.from_pretrained(tmp_path / "s2"), load_pairs(shapes, "qa")[0].image
    )


def generate(model, processor, image_path):
    from chatbot.training.data import load_image

    messages = [
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "What shape is it?"}],
        }
    ]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(
        text=text, images=[load_image(image_path)], return_tensors="pt", add_special_tokens=False
    )
    out = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 4


@pytest.mark.app
def test_a_trained_projector_chats_in_the_launched_app(shapes, tiny, tmp_path):
    """The student's loop end to end: stage 1 on the synthetic pairs, then the app started with
    --profile hub --model OUT loads it by path and answers a photo question with its chain."""
    from gradio_client import handle_file

    from chatbot.training.projector import train_projector as stage
    from tests.helpers import RunningApp

    stage(1, shapes, tiny("tiny-llava"), tmp_path / "s1", quick(steps=4, eval_pairs=4))
    app = RunningApp("--profile", "hub", "--model", str(tmp_path / "s1"), "--max-new-tokens", "4")
    try:
        photo = load_pairs(shapes)[0].image
        text, files, info = app.client().predict(
            {"text": "what shapes are here?", "files": [handle_file(str(photo))]}, api_name="/chat"
        )
        assert info["error"] is None and info["metrics"]["images"] == 1
        assert any("LlavaMultiModalProjector" in s["title"] for s in info["steps"])
    finally:
        app.stop()
