"""Random tiny models built from configs in seconds, saved in exactly the hub layout.

They are loaded back through the same `from_pretrained(path)` code as real
checkpoints, so tests exercise the real loading path without any download.
Random weights produce garbage text: assert on structure, never on wording.
"""

from __future__ import annotations

from pathlib import Path

from ..config import SIGLIP_INIT_BIAS, SIGLIP_INIT_LOG_SCALE, cache_dir

CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'image' %}<image>{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
BASE_SPECIALS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<image>"]
IDEFICS3_SPECIALS = ["<fake_token_around_image>", "<global-img>", "<end_of_utterance>"] + [
    f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)
]
# Bilingual training text so the byte-level BPE has merges for Korean and English.
_CORPUS = [
    "What is in this photo? Describe the picture and the text in it.",
    "이 사진에 무엇이 있나요? 그림을 설명해 주세요. 고양이와 강아지.",
    "The revenue table shows totals for 2023 and 2024 on page 12.",
    "안녕하세요, 문서의 표에서 2023년 합계를 알려주세요.",
    "Draw a cat wearing a space suit, watercolor style, blue sky.",
] * 20


# Every tiny tower (text or vision) has the same shape: random weights in a few hundred kB.
TINY_TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
TINY_VISION_SIDE = 32  # 32 px, patch 8: 16 patches, enough to tell colours, shapes and halves apart
TINY_VISION = dict(image_size=TINY_VISION_SIDE, patch_size=8, **TINY_TOWER)


def build_tokenizer(extra_specials: list[str] = ()):
    """Byte-level BPE (~400 tokens) with ChatML specials, as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = BASE_SPECIALS + list(extra_specials)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400 + len(specials),
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        additional_special_tokens=specials[2:],
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _llama_config(vocab_size: int, tok, hidden: int = 32):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
    )


def _finish(model, tok, path: Path, processor=None) -> Path:
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    (processor or tok).save_pretrained(path)
    return path


def build_tiny_llava(path: Path) -> Path:
    """LLaVA: CLIP vision tower (32px, patch 8 -> 16 tokens) + MLP projector + tiny Llama."""
    import torch
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    torch.manual_seed(0)
    tok = build_tokenizer()
    vision = CLIPVisionConfig(**TINY_VISION, projection_dim=32)
    cfg = LlavaConfig(
        vision_config=vision,
        text_config=_llama_config(len(tok), tok),
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    model = LlavaForConditionalGeneration(cfg).eval()
    ip = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    proc = LlavaProcessor(
        image_processor=ip,
        tokenizer=tok,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHATML_TEMPLATE,
    )
    return _finish(model, tok, path, proc)


def build_tiny_idefics3(path: Path) -> Path:
    """Idefics3 (the SmolVLM v1 class): SigLIP-style encoder + pixel-shuffle connector + Llama."""
    import torch
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
    )

    torch.manual_seed(0)
    tok = build_tokenizer(IDEFICS3_SPECIALS)
    cfg = Idefics3Config(
        vision_config=dict(TINY_VISION),
        text_config=_llama_config(len(tok), tok).to_dict(),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        scale_factor=2,
    )
    model = Idefics3ForConditionalGeneration(cfg).eval()
    ip = Idefics3ImageProcessorPil(
        size={"longest_edge": 64}, max_image_size={"longest_edge": 32}, do_image_splitting=False
    )
    proc = Idefics3Processor(
        image_processor=ip, tokenizer=tok, image_seq_len=4, chat_template=CHATML_TEMPLATE
    )
    return _finish(model, tok, path, proc)


def build_tiny_text_lm(path: Path) -> Path:
    """A text-only causal LM (stands in for the offline GGUF model in fast tests)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    tok = build_tokenizer()
    return _finish(LlamaForCausalLM(_llama_config(len(tok), tok)).eval(), tok, path)


def build_tiny_sentence_transformer(path: Path) -> Path:
    """A 2-layer BERT with mean pooling, saved as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    words = sorted({w.lower().strip(".,?!") for line in _CORPUS for w in line.split()})
    vocab = (
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(c) for c in range(33, 127)] + words
    )
    tmp = path / "_bert"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)))
    tok = BertTokenizerFast(vocab_file=str(tmp / "vocab.txt"))
    BertModel(BertConfig(vocab_size=len(tok), **TINY_TOWER)).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    word = st_models.Transformer(str(tmp), max_seq_length=128)
    st = SentenceTransformer(modules=[word, st_models.Pooling(word.get_embedding_dimension())])
    st.save(str(path))
    return path


BUILDERS = {
    "tiny-llava": build_tiny_llava,
    "tiny-idefics3": build_tiny_idefics3,
    "tiny-text": build_tiny_text_lm,
    "tiny-embeddings": build_tiny_sentence_transformer,
}


def tiny_model_path(name: str, root: Path | None = None) -> Path:
    """Build `name` once under root (default: the app cache) and return its folder."""
    path = Path(root or cache_dir() / "tiny") / name
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        path.mkdir(parents=True, exist_ok=True)
        BUILDERS[name](path)
    return path


# ---- tiny CLIP and SigLIP (the vision toolkit: chatbot/vision, chatbot/training) ----------------
SIGLIP_TEXT_TOKENS = 64  # SigLIP pads every text to this many tokens and pools the last one


def _tiny_tower_configs(tok, text_positions: int) -> tuple[dict, dict]:
    text = dict(
        vocab_size=len(tok),
        **TINY_TOWER,
        max_position_embeddings=text_positions,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    vision = dict(TINY_VISION)
    return text, vision


def _save_in_place(model, processor, path: Path) -> Path:
    """Save into a temporary sibling, then move the files in with config.json last, so a
    second process that finds config.json never reads a half-written folder."""
    import os
    import shutil
    import tempfile

    path.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        for f in sorted(tmp.iterdir(), key=lambda p: p.name == "config.json"):
            os.replace(f, path / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def build_tiny_clip(path: Path) -> Path:
    """CLIPModel from tiny text and vision configs, with a real CLIPTokenizer over the byte
    alphabet (its end-of-text token is where CLIP pools: without it every text embeds alike)
    and the Pillow image processor (torchvision is not installed)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    from .tiny_diffusion import TEXT_MAX_TOKENS, build_clip_tokenizer

    torch.manual_seed(0)
    tok = build_clip_tokenizer()
    text, vision = _tiny_tower_configs(tok, TEXT_MAX_TOKENS)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()
    ip = CLIPImageProcessorPil(
        size={"shortest_edge": TINY_VISION_SIDE},
        crop_size={"height": TINY_VISION_SIDE, "width": TINY_VISION_SIDE},
    )
    return _save_in_place(model, CLIPProcessor(image_processor=ip, tokenizer=tok), path)


def build_tiny_siglip(path: Path) -> Path:
    """SiglipModel from tiny configs. The real SigLIP tokenizer is SentencePiece (not installed), so
    the tiny one reuses the byte-level CLIPTokenizer; texts are padded to SIGLIP_TEXT_TOKENS as
    SigLIP expects (it pools the last position, attention is bidirectional)."""
    import torch
    from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel, SiglipProcessor

    from .tiny_diffusion import build_clip_tokenizer

    torch.manual_seed(0)
    tok = build_clip_tokenizer()
    tok.model_max_length = SIGLIP_TEXT_TOKENS
    text, vision = _tiny_tower_configs(tok, SIGLIP_TEXT_TOKENS)
    model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision)).eval()
    with torch.no_grad():  # the paper's start: t = 10, b = -10 (the random init leaves 0, 0)
        model.logit_scale.fill_(SIGLIP_INIT_LOG_SCALE)
        model.logit_bias.fill_(SIGLIP_INIT_BIAS)
    ip = SiglipImageProcessorPil(size={"height": TINY_VISION_SIDE, "width": TINY_VISION_SIDE})
    return _save_in_place(model, SiglipProcessor(image_processor=ip, tokenizer=tok), path)


BUILDERS.update({"tiny-clip": build_tiny_clip, "tiny-siglip": build_tiny_siglip})
