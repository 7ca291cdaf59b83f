"""Training data: a folder of images with captions.jsonl (and qa.jsonl for instruction tuning),
checked line by line, split deterministically, and a synthetic generator.

The folder layout is the simplest one people already have:
    DIR/captions.jsonl   {"image": "0001.png", "caption": "a red circle on the left"}
    DIR/qa.jsonl         {"image": "0001.png", "question": "What colour is it?", "answer": "red"}
Image paths are relative to DIR. A malformed folder stops before any model is loaded,
with the line and what is wrong (DataError), not with a stack trace from the middle of training.

The synthetic set (shapes, colours, counts, positions drawn with Pillow, captions in
English and Korean) is generated in-process, so tests and the tiny runs need no download.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from ..config import IMAGE_EXTENSIONS, MAX_TRAIN_PAIRS, TRAIN_HELD_OUT_EVERY
from ..messages import UserError

FILES = {"captions": "captions.jsonl", "qa": "qa.jsonl"}
FIELDS = {"captions": ("image", "caption"), "qa": ("image", "question", "answer")}


class DataError(UserError):
    """The data folder is not usable: the message says which file, which line and why."""


@dataclass(frozen=True)
class Pair:
    image: Path  # absolute path of the image
    text: str  # the caption, or the answer
    prompt: str = ""  # the question (qa); "" for captions

    @property
    def key(self) -> str:
        return self.image.name


def load_pairs(folder: str | Path, kind: str = "captions") -> list[Pair]:
    """Every pair of DIR/captions.jsonl (kind "captions") or DIR/qa.jsonl (kind "qa"), checked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"{folder} is not a folder: expected a folder with {FILES[kind]} and the images "
            f"it names (--make-synthetic N writes a synthetic one there)"
        )
    path = folder / FILES[kind]
    if not path.exists():
        example = json.dumps(dict(zip(FIELDS[kind], ("0001.png", "a red circle", "red"))))
        raise DataError(f"{folder} has no {FILES[kind]}: each line should be {example}")
    pairs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                pairs.append(_pair(folder, path, n, line, kind))
            if len(pairs) > MAX_TRAIN_PAIRS:
                raise DataError(f"{path} has more than MAX_TRAIN_PAIRS={MAX_TRAIN_PAIRS} lines")
    if len(pairs) < 2:
        raise DataError(
            f"{path} has {len(pairs)} pair(s): contrastive training and a held-out "
            "split need at least 2"
        )
    return pairs


def _pair(folder: Path, path: Path, n: int, line: str, kind: str) -> Pair:
    where = f"{path.name} line {n}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where} is not JSON ({exc.msg}): {line.strip()[:80]}") from None
    if not isinstance(row, dict):
        raise DataError(
            f"{where} is a {type(row).__name__}, not an object with {', '.join(FIELDS[kind])}"
        )
    for key in FIELDS[kind]:
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise DataError(
                f'{where} needs a non-empty text "{key}" (it has: {", ".join(row) or "nothing"})'
            )
    image = (folder / row["image"]).resolve()
    if folder.resolve() not in image.parents:
        raise DataError(f"{where}: image {row['image']!r} is outside the data folder")
    if image.suffix.lower() not in IMAGE_EXTENSIONS:
        raise DataError(
            f"{where}: {row['image']!r} is not an image ({', '.join(IMAGE_EXTENSIONS)})"
        )
    if not image.exists():
        raise DataError(f"{where}: image {row['image']!r} does not exist in {folder}")
    if kind == "qa":
        return Pair(image, row["answer"].strip(), row["question"].strip())
    return Pair(image, row["caption"].strip())


def is_held_out(key: str) -> bool:
    """1 image in TRAIN_HELD_OUT_EVERY, by a hash of its file name: every caption of an image
    falls on the same side, and the split does not move when lines are added."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % TRAIN_HELD_OUT_EVERY == 0


def split_pairs(pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(train, held out). Raises DataError when either side would be empty."""
    train = [p for p in pairs if not is_held_out(p.key)]
    held = [p for p in pairs if is_held_out(p.key)]
    if not train or not held:
        raise DataError(
            f"{len(pairs)} pairs over {len({p.key for p in pairs})} images split into "
            f"{len(train)} for training and {len(held)} held out: add images "
            f"(1 in {TRAIN_HELD_OUT_EVERY} is held out for evaluation)"
        )
    return train, held


def load_image(path: Path):
    from PIL import Image

    with Image.open(path) as im:
        return im.convert("RGB")


# ---- synthetic shapes -------------------------------------------------------------------------
COLOURS = {
    "red": ((220, 40, 40), "빨간"),
    "green": ((40, 170, 60), "초록색"),
    "blue": ((40, 70, 220), "파란"),
    "yellow": ((235, 200, 30), "노란"),
    "purple": ((140, 60, 180), "보라색"),
    "orange": ((240, 130, 20), "주황색"),
}
SHAPES = {
    "circle": ("circles", "원"),
    "square": ("squares", "사각형"),
    "triangle": ("triangles", "삼각형"),
}
POSITIONS = {
    "left": ("on the left", "왼쪽에"),
    "right": ("on the right", "오른쪽에"),
    "top": ("at the top", "위쪽에"),
    "bottom": ("at the bottom", "아래쪽에"),
    "center": ("in the center", "가운데에"),
}
COUNTS = {1: ("a", "한 개"), 2: ("two", "두 개"), 3: ("three", "세 개")}
_CENTRES = {
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "center": (0.5, 0.5),
}


@dataclass(frozen=True)
class Scene:
    colour: str
    shape: str
    count: int
    position: str  # where a single shape is; "" when there are several

    def captions(self) -> tuple[str, str]:
        """(English, Korean)."""
        ko_colour = COLOURS[self.colour][1]
        plural, ko_shape = SHAPES[self.shape]
        if self.count == 1:
            en_where, ko_where = POSITIONS[self.position]
            return f"a {self.colour} {self.shape} {en_where}", f"{ko_where} {ko_colour} {ko_shape}"
        return (
            f"{COUNTS[self.count][0]} {self.colour} {plural}",
            f"{ko_colour} {ko_shape} {COUNTS[self.count][1]}",
        )

    def question(self, lang: str, which: int) -> tuple[str, str]:
        """One of four questions about the scene, with its answer."""
        ko = lang == "ko"
        kinds = ["colour", "shape", "count"] + (["position"] if self.count == 1 else [])
        kind = kinds[which % len(kinds)]
        if kind == "colour":
            return (
                ("도형은 무슨 색이에요?", COLOURS[self.colour][1].replace("색", "") + "색")
                if ko
                else ("What colour are the shapes?", self.colour)
            )
        if kind == "shape":
            return (
                ("무슨 도형이에요?", SHAPES[self.shape][1])
                if ko
                else ("What shape is it?", self.shape)
            )
        if kind == "count":
            return (
                ("도형이 몇 개예요?", COUNTS[self.count][1])
                if ko
                else ("How many shapes are there?", {1: "one", 2: "two", 3: "three"}[self.count])
            )
        return (
            ("도형은 어디에 있어요?", POSITIONS[self.position][1].removesuffix("에"))
            if ko
            else ("Where is the shape?", POSITIONS[self.position][0])
        )


def draw_scene(scene: Scene, size: int, rng: random.Random):
    """The scene drawn on a light background with a little jitter in size and place."""
    from PIL import Image, ImageDraw

    shade = rng.randint(225, 250)
    img = Image.new("RGB", (size, size), (shade, shade, shade))
    d = ImageDraw.Draw(img)
    rgb = COLOURS[scene.colour][0]
    centres = (
        [_CENTRES[scene.position]]
        if scene.count == 1
        else rng.sample([(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)], scene.count)
    )
    for cx, cy in centres:
        r = size * rng.uniform(0.13, 0.18)
        x, y = cx * size + rng.uniform(-2, 2), cy * size + rng.uniform(-2, 2)
        if scene.shape == "circle":
            d.ellipse([x - r, y - r, x + r, y + r], fill=rgb)
        elif scene.shape == "square":
            d.rectangle([x - r, y - r, x + r, y + r], fill=rgb)
        else:
            d.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=rgb)
    return img


def write_synthetic(
    folder: str | Path, n: int = 200, seed: int = 0, size: int = 64, lang: str = "both"
) -> Path:
    """Write n images with captions.jsonl and qa.jsonl. lang: "en", "ko" or "both" (then every
    image has an English and a Korean line in each file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    langs = ("en", "ko") if lang == "both" else (lang,)
    captions, qa = [], []
    for i in range(n):
        count = rng.choice((1, 1, 2, 3))
        scene = Scene(
            rng.choice(list(COLOURS)),
            rng.choice(list(SHAPES)),
            count,
            rng.choice(list(POSITIONS)) if count == 1 else "",
        )
        name = f"{i:05d}.png"
        draw_scene(scene, size, rng).save(folder / name)
        en, ko = scene.captions()
        for lg in langs:
            captions.append({"image": name, "caption": en if lg == "en" else ko})
            question, answer = scene.question(lg, rng.randrange(4))
            qa.append({"image": name, "question": question, "answer": answer})
    for fname, rows in (("captions.jsonl", captions), ("qa.jsonl", qa)):
        with open(folder / fname, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return folder
