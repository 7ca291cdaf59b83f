"""Output projector: after the LLM, decide whether to draw and write the generator's prompt.

NExT-GPT decides with learned signal tokens and feeds hidden states to the
diffusion model: users never see the prompt and often cannot make it draw.
Here every part is visible and editable instead:

    decide(text)          /imagine or the UI toggle -> explicit request (rules, ko/en)
                          -> the LLM's own <draw>{...}</draw> line -> a small learned
                          classifier on sentence embeddings (GILL-style)
    write_prompt(...)     the LLM turns the conversation into an English prompt
                          (JSON); garbage in -> a deterministic fallback prompt
    ImageRequest          what the generator gets, and what the UI card shows

Pure Python + numpy; the embedder is imported only when a classifier is built.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .config import DRAW_THRESHOLD, MAX_IMAGE_PROMPT_CHARS
from .conversation import UserError

ROOT = Path(__file__).resolve().parent.parent
PROMPTS_DIR = ROOT / "prompts"
DATA_FILE = ROOT / "data" / "draw_requests.jsonl"          # labelled ko/en messages
WEIGHTS_DIR = Path(__file__).resolve().parent / "data"     # committed classifier weights
GLOSSARY_FILE = WEIGHTS_DIR / "ko_en_glossary.tsv"         # fallback prompt words, ko -> en

HELD_OUT_EVERY = 5            # 1 message in 5 (by hash of its text) is held out from training
PROMPT_HISTORY_TURNS = 6      # turns of conversation the prompt writer sees
PROMPT_HISTORY_CHARS = 300    # per turn: the prompt writer needs the gist, not whole answers


# ---- what the generator gets --------------------------------------------------------------

@dataclass
class GenerationSettings:
    """UI-adjustable defaults copied into each ImageRequest (see generator.default_settings)."""
    steps: int = 1
    guidance: float = 0.0
    width: int = 512
    height: int = 512
    negative_prompt: str = ""
    seed: int | None = None       # None: a fresh random seed for each new picture
    strength: float = 0.6         # image-to-image: how far from the uploaded photo


@dataclass
class ImageRequest:
    """One picture to draw. Defaults are sd-turbo's (1 step, no guidance, 512 px)."""
    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    steps: int = 1
    guidance: float = 0.0
    width: int = 512
    height: int = 512
    init_image: str | None = None  # path of an uploaded photo: image-to-image variation
    strength: float = 0.6          # image-to-image only: 0 keeps the photo, 1 ignores it

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ImageRequest":
        """From the UI card: unknown keys are ignored, numbers typed as the fields are."""
        types = {"seed": int, "steps": int, "width": int, "height": int,
                 "guidance": float, "strength": float}
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in d and d[f.name] is not None:
                value = d[f.name]
                kwargs[f.name] = types[f.name](value) if f.name in types else value
        if f"{kwargs.get('init_image', '')}" == "":
            kwargs["init_image"] = None
        return cls(**kwargs)


@dataclass
class Decision:
    draw: bool
    source: str        # "command" | "toggle" | "explicit" | "llm" | "classifier" | "none"
    score: float       # 1.0 / 0.0 for rules, the probability for the classifier
    reason: str        # shown in the reply's status step


# ---- explicit requests (rules) ------------------------------------------------------------

COMMAND = re.compile(r"^\s*/(?:imagine|draw)\b[\s:,]*", re.I)

_EN_LEAD = (r"(?:please|pls|plz|kindly|now|ok|okay|so|and|then|also|just|hey|yes|sure|"
            r"can you|could you|would you|will you|can u|could u|would you mind|"
            r"i want you to|i'd like you to|i would like you to|i need you to|"
            r"help me|let's|lets|go ahead and|try to)")
_START = rf"(?:^|[.!?;:,\n]\s*)\s*(?:{_EN_LEAD}[\s,]+)*"
# "draw" in another sense: conclusions, attention, comparisons, up a contract, on knowledge...
_EN_IDIOM = (r"(?:up|on|from|upon|out|near|closer|back|(?:a|the|any|some|your|my|our|clear|"
             r"useful|firm|broad)?\s*(?:conclusions?|inferences?|parallels?|comparisons?|"
             r"distinctions?|attention|lessons?|insights?|breath|line\b|lines\b|blood|lots|"
             r"straws?|cards?|blanks?|the\s+curtains|the\s+blinds|water\b|a\s+bath|the\s+town))")
_EN_CHART = r"(?:charts?|graphs?|plots?|tables?|flowcharts?|histograms?)"
_IMG_NOUN = (r"(?:images?|pictures?|pics?|photos?|photographs?|drawings?|paintings?|"
             r"illustrations?|sketch(?:es)?|artworks?|art|wallpapers?|logos?|icons?|posters?|"
             r"portraits?|renders?|cartoons?|comics?|comic panels?|avatars?|stickers?|"
             r"concept art|pixel art|watercolou?rs?|oil paintings?)")
_NOT_PREP = r"(?!(?:for|of|from|in|about|on|to|with|and|or|the text)\b)"

EN_POSITIVE = [
    # "draw a cat", "please paint me a lake", "can you sketch ..."
    re.compile(rf"{_START}(?:draw|paint|sketch|illustrate|doodle)\b"
               rf"(?!\s+{_EN_IDIOM})(?!\s+(?:\w+\s+){{0,2}}{_EN_CHART}\b)\s+\w", re.I),
    # "generate an image of", "make this photo look like", "give me a picture of"
    re.compile(rf"{_START}(?:generate|create|make|produce|render|design|give me|show me|send me|"
               rf"turn|get me|imagine and draw)\s+(?:me\s+)?(?:{_NOT_PREP}[\w'-]+[\s,]+){{0,3}}?"
               rf"{_IMG_NOUN}\b(?!\s+(?:description|caption|analysis|recognition|search|"
               rf"quality|format|size|file|generation|model)s?\b)"
               rf"(?=\s*(?:of|for|with|showing|where|that|in|look|into|:|,|please|$|[.!?]))",
               re.I),
    # "create a variation of the image I uploaded"
    re.compile(r"\bvariations?\s+of\s+(?:the|this|my|that)\s+(?:image|picture|photo|drawing)", re.I),
    # "I want a picture of", "I'd like an illustration of"
    re.compile(r"\b(?:i want|i'd like|i would like|i need|can i (?:get|have))\s+(?:an?|some|one)\s+"
               rf"(?:[\w'-]+\s+){{0,2}}{_IMG_NOUN}\b", re.I),
    # "render a cozy cabin", "render it in 3D"
    re.compile(rf"{_START}(?:render|visuali[sz]e)\s+(?:an?|the|it|this|some)\b"
               rf"(?!\s+(?:\w+\s+){{0,2}}{_EN_CHART}\b)(?!\s+data\b)", re.I),
]
# Two kinds of "no": NEVER overrides a request-looking match ("draw a conclusion",
# "can you draw?"); ABOUT (asking about an existing picture) only cancels one out,
# leaving mixed messages to the LLM signal and the classifier.
EN_ABOUT = [
    # asking about a picture that exists
    re.compile(r"\b(?:describe|explain|caption|analy[sz]e|summari[sz]e|read|transcribe|translate|"
               r"identify|recogni[sz]e|interpret|critique|review|evaluate|rate|compare|classify|"
               r"label|extract|ocr)\b.*\b(?:drawing|picture|image|photo|painting|sketch|"
               r"illustration|diagram|chart|graph|screenshot|scan|figure|pic|artwork)s?\b", re.I),
    re.compile(r"^\s*(?:describe|caption|explain|summari[sz]e|read|translate|transcribe)\b", re.I),
    re.compile(r"\b(?:what|who|which|where|when|why|how many|is there|are there|does|do you see|"
               r"can you see|tell me|is (?:this|the|it))\b.*\b(?:drawn|drew|painted|sketched|depicted|"
               r"shown|shows|in (?:this|the|that|my|these) (?:drawing|picture|image|photo|"
               r"painting|sketch|illustration|chart|figure|pic|scan|screenshot)s?)\b", re.I),
    re.compile(r"^\s*(?:what(?:'s| is| are)|who|which|where|is|are|does|do)\b.*\b(?:drawing|picture|"
               r"image|photo|painting|sketch|illustration|figure|diagram|chart)s?\b.*\?\s*$", re.I),
]
EN_NEVER = [
    # "draw" in another sense, and charts (a chart is data, not a diffusion picture)
    re.compile(rf"\bdraw(?:s|n|ing)?\s+(?:heavily\s+)?{_EN_IDIOM}", re.I),
    re.compile(rf"\b(?:draw|make|create|generate|plot)\s+(?:me\s+)?(?:an?|the|some)?\s*"
               rf"(?:[\w-]+\s+){{0,2}}{_EN_CHART}\b", re.I),
    # how-to and capability questions
    re.compile(r"\bhow\s+(?:do|can|should|would|to)\s+(?:i|we|you|one)?\s*(?:draw|paint|sketch)", re.I),
    re.compile(r"\bwhat\s+(?:should|can|could)\s+i\s+(?:draw|paint|sketch)", re.I),
    re.compile(r"^\s*(?:can|could|do|are|will)\s+you\s+(?:able\s+to\s+|even\s+|also\s+)?"
               r"(?:draw|generate|make|create|paint)(?:\s+(?:images|pictures|drawings|art|paintings|"
               r"photos))?\s*\??\s*$", re.I),
]

_KO_IMG = r"(?:그림|이미지|사진|일러스트|삽화|포스터|로고|아이콘|배경화면|캐릭터|초상화|만화|아바타|image|picture)"
_KO_MAKE = r"(?:만들어|생성|그려|뽑아|제작|디자인)"
_KO_CHART = r"(?:그래프|차트|표|도표|다이어그램|순서도|도면)"
KO_POSITIVE = [
    # "그려줘", "그려 주세요", "그려줄래?", "그려봐", "그려 주실 수 있나요"
    re.compile(r"그려\s*(?:줘|줘요|주세요|주셔|줄래|줄\s*수|주실|주라|주겠|봐|보세요|달라|줄래요)"),
    # "그림 그려", "이미지 만들어줘", "사진 하나 생성해줘", "일러스트 부탁해"
    re.compile(rf"{_KO_IMG}\s*(?:을|를|이|도|으로|로)?\s*(?:좀\s*|하나\s*|한\s*장\s*|하나만\s*)*"
               rf"(?:{_KO_MAKE}|부탁)"),
    re.compile(rf"{_KO_IMG}\s*(?:하나|한\s*장)\s*(?:만|만요|만\s*부탁)?\s*[.!?]*\s*$"),
    # "로고 디자인해줘"
    re.compile(r"디자인\s*해\s*(?:줘|주세요|줄래)"),
]
KO_ABOUT = [
    # about a picture that exists: "그림에 뭐가 있어?", "사진 속 글자", "이 그림 설명해줘"
    re.compile(rf"{_KO_IMG}\s*(?:에|에서|속|속에|안에|의)\s"),
    re.compile(r"(?:설명|분석|요약|번역|해석|묘사|평가|추출|정리)\s*(?:해|하|좀|을|를)"),
    re.compile(r"읽어\s*(?:줘|주세요|줄래)"),
    re.compile(r"(?:뭐|무엇|무슨|누가|누구|어떤|몇|어디|왜|어때|뭔)"),
    # "그려진", "누가 그렸어", "그린 거야"
    re.compile(r"그려진|그려져|그렸|그린\s*(?:거|것|게|건|사람|작가|화가)"),
]
KO_NEVER = [
    # how-to, and how image generation works
    re.compile(r"그리는\s*(?:법|방법|걸|것|앱)|어떻게\s*그|어떻게\s*(?:작동|동작|만들어지|생성되)"),
    re.compile(rf"{_KO_IMG}\s*생성\s*(?:모델|기능|방법|과정|원리|AI)"),
    # charts are data, not diffusion pictures; capability questions
    re.compile(rf"{_KO_CHART}\s*(?:을|를|좀|하나)?\s*(?:그려|만들어|생성)"),
    # "그림 그릴 수 있어?" asks what the bot can do; "고양이 그릴 수 있어?" is a polite request
    re.compile(r"^\s*(?:너\s*)?(?:그림|이미지|사진)?\s*(?:을|를|도)?\s*(?:그릴|만들|생성할)\s*수\s*"
               r"있(?:어|나|니|어요|나요|습니까)\s*\??\s*$"),
]


def is_command(text: str) -> bool:
    return bool(COMMAND.match(text or ""))


def strip_command(text: str) -> str:
    return COMMAND.sub("", text or "", count=1).strip()


def _first_match(patterns: list[re.Pattern], text: str) -> str | None:
    """The first pattern's match, shown with a few words after it (for the reason)."""
    for p in patterns:
        if m := p.search(text):
            return " ".join(text[m.start():].strip(" ,.;:").split()[:max(4, len(m.group(0).split()))])
    return None


def _explicit(text: str) -> tuple[bool | None, str]:
    """(decision, reason). None when the rules cannot tell: the LLM or classifier decides."""
    if is_command(text):
        return True, "/imagine command"
    t = " ".join((text or "").split())
    pos = _first_match(EN_POSITIVE + KO_POSITIVE, t)
    never = _first_match(EN_NEVER + KO_NEVER, t)
    if never:
        return False, f"not a request for a picture: '{never}'"
    neg = _first_match(EN_ABOUT + KO_ABOUT, t)
    if pos and neg:
        return None, f"mixed: request '{pos}' and question '{neg}'"
    if pos:
        return True, f"explicit request: '{pos}'"
    if neg:
        return False, f"asks about a picture or uses 'draw' otherwise: '{neg}'"
    return None, "no explicit request"


def explicit_request(text: str) -> bool | None:
    """True: a clear request to draw. False: a clear non-request ("describe this drawing",
    "draw a conclusion from the table", "그림에 뭐가 있어?"). None: the rules cannot tell."""
    return _explicit(text)[0]


# ---- the LLM's own signal -----------------------------------------------------------------

_SIGNAL = re.compile(r"<draw>(.*?)(?:</draw>|$)", re.S | re.I)


def parse_llm_signal(reply_text: str) -> tuple[str, dict | None]:
    """Split the `<draw>{"prompt": ...}</draw>` line (prompts/image_decision.txt) off a reply.

    Returns (text without the signal, the signal's dict or None). A signal that is
    not JSON still counts: its text becomes the prompt. An unclosed tag (the reply
    was cut off) counts too. `{}` means "draw" with no prompt of its own.
    """
    reply_text = reply_text or ""
    matches = list(_SIGNAL.finditer(reply_text))
    if not matches:
        return reply_text, None
    clean = _SIGNAL.sub("", reply_text).strip()
    body = matches[-1].group(1).strip()
    signal = _first_json_object(body)
    if signal is None:
        signal = {"prompt": body} if body else {}
    return clean, signal


def hide_signal(streamed: str) -> str:
    """The part of a reply still streaming that the user should see: everything before
    a <draw> line, and no half-written "<dr" at the end either."""
    cut = streamed.lower().find("<draw")
    if cut >= 0:
        return streamed[:cut].rstrip()
    for n in range(min(len("<draw"), len(streamed)), 0, -1):
        if "<draw".startswith(streamed[-n:].lower()):
            return streamed[:-n]
    return streamed


def _first_json_object(text: str) -> dict | None:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


# ---- the learned classifier (GILL-style) --------------------------------------------------

def load_dataset(path: str | Path = DATA_FILE) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def is_held_out(text: str) -> bool:
    """Deterministic split by a hash of the text: stable when lines are added or reordered."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % HELD_OUT_EVERY == 0


def split_dataset(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    train = [r for r in rows if not is_held_out(r["text"])]
    held = [r for r in rows if is_held_out(r["text"])]
    return train, held


def _sigmoid(z):
    import numpy as np
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(X, y, l2: float = 0.1, iters: int = 50):
    """L2-regularised logistic regression by Newton's method, classes weighted to balance.

    X: (n, d) embeddings, y: (n,) 0/1. Returns (coef (d,), intercept). Exact and
    deterministic; d is a few hundred, so the (d+1)^2 Hessian is cheap.
    """
    import numpy as np
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])                        # (n, d+1): last column = bias
    pos = max(y.sum(), 1.0)
    weights = np.where(y > 0, n / (2 * pos), n / (2 * max(n - pos, 1.0)))
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0                                               # the intercept is not shrunk
    w = np.zeros(d + 1)
    for _ in range(iters):
        p = _sigmoid(Xb @ w)
        grad = Xb.T @ (weights * (p - y)) + reg * w
        hess = (Xb * (weights * p * (1 - p))[:, None]).T @ Xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass
class DrawClassifier:
    """p(draw | message) = sigmoid(coef . embed(message) + intercept)."""
    coef: list[float]
    intercept: float
    embedder: str                      # model id or path the coefficients were fit on
    profile: str = ""                  # embeddings profile, to find the embedder on another machine
    threshold: float = DRAW_THRESHOLD
    meta: dict = field(default_factory=dict)   # training set size, held-out figures

    def _model(self):
        from .embeddings import load_embedder
        return load_embedder(self.embedder)

    def embed(self, texts: list[str]):
        return self._model().encode(list(texts), normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)

    def probabilities(self, texts: list[str]):
        import numpy as np
        X = self.embed(texts)                                   # (n, dim)
        if X.shape[1] != len(self.coef):
            raise ValueError(f"the draw classifier was fit on {len(self.coef)}-d embeddings, "
                             f"but {self.embedder} gives {X.shape[1]}-d: retrain it "
                             "(python -m chatbot.train_draw_classifier)")
        return _sigmoid(X @ np.asarray(self.coef) + self.intercept)

    def probability(self, text: str) -> float:
        return float(self.probabilities([text])[0])

    @classmethod
    def train(cls, rows: list[dict], embedder: str, profile: str = "", l2: float = 0.1,
              threshold: float = DRAW_THRESHOLD) -> "DrawClassifier":
        clf = cls(coef=[], intercept=0.0, embedder=embedder, profile=profile, threshold=threshold)
        X = clf.embed([r["text"] for r in rows])
        coef, intercept = fit_logistic(X, [1.0 if r["draw"] else 0.0 for r in rows], l2=l2)
        clf.coef, clf.intercept = [round(float(c), 6) for c in coef], intercept
        clf.meta = {"train_size": len(rows), "l2": l2, "dim": len(clf.coef)}
        return clf

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = dataclasses.asdict(self)
        if self.profile:                   # the path is machine-specific: keep only its name
            data["embedder"] = "/".join(Path(self.embedder).parts[-2:])
        path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, embedder: str | None = None) -> "DrawClassifier":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if embedder is None and data.get("profile"):
            from .embeddings import embeddings_for_profile
            embedder = embeddings_for_profile(data["profile"])
        if embedder is not None:
            data["embedder"] = embedder
        return cls(**data)


def classifier_path(profile: str) -> Path:
    return WEIGHTS_DIR / f"draw_classifier_{profile}.json"


def load_classifier(profile: str) -> DrawClassifier | None:
    """The committed classifier for the profile's embedder. The hub profile, whose
    multilingual embedder cannot be trained on without a download, uses the offline
    MiniLM one (the bundle is in requirements.txt). None when there is none: tiny
    tests train their own, and decide() then uses the rules and the LLM signal."""
    for name in (profile, "offline") if profile == "hub" else (profile,):
        path = classifier_path(name)
        if path.exists():
            try:
                return DrawClassifier.load(path)
            except RuntimeError:        # its embedder is not installed here
                continue
    return None


# ---- the decision -------------------------------------------------------------------------

def decide(text: str, toggle: bool = False, llm_signal: bool | None = None,
           classifier: DrawClassifier | None = None) -> Decision:
    """Draw or not, and why, in this order of authority:

    1. `/imagine ...` or the UI's image toggle: always draw.
    2. explicit_request(): clear requests draw, clear non-requests never do.
    3. llm_signal=True: the LLM emitted <draw> (parse_llm_signal). False or None is
       not a veto: small models rarely follow the format, so the classifier still runs.
    4. the classifier's probability >= its threshold.
    """
    if is_command(text):
        return Decision(True, "command", 1.0, "/imagine command")
    if toggle:
        return Decision(True, "toggle", 1.0, "image mode is on")
    explicit, reason = _explicit(text)
    if explicit is not None:
        return Decision(explicit, "explicit", 1.0 if explicit else 0.0, reason)
    if llm_signal:
        return Decision(True, "llm", 1.0, "the model asked to draw (<draw> line)")
    if classifier is not None:
        p = classifier.probability(text)
        verdict = "asks" if p >= classifier.threshold else "does not ask"
        return Decision(p >= classifier.threshold, "classifier", p,
                        f"classifier: p={p:.2f} {verdict} for a picture (threshold {classifier.threshold})")
    return Decision(False, "none", 0.0, reason)


# ---- the prompt ---------------------------------------------------------------------------

def load_prompt_template(name: str = "image_prompt.txt") -> tuple[str, str]:
    """(system, user) sections of a prompts/ file written as `[system] ... [user] ...`."""
    text = (PROMPTS_DIR / name).read_text(encoding="utf-8")
    system, _, user = text.partition("[user]")
    return system.replace("[system]", "", 1).strip(), user.strip()


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def prompt_messages(history: list[tuple[str, str]], user_text: str,
                    previous: ImageRequest | None) -> list[dict]:
    """The OpenAI-style messages asking the LLM for the JSON prompt."""
    system, user = load_prompt_template()
    lines = []
    for role, text in history[-PROMPT_HISTORY_TURNS:]:
        text = parse_llm_signal(text)[0] if role == "assistant" else text
        lines.append(f"{'User' if role == 'user' else 'Assistant'}: {_clip(text, PROMPT_HISTORY_CHARS)}")
    user = (user.replace("{history}", "\n".join(lines) or "(none)")
                .replace("{previous}", previous.prompt if previous else "(none)")
                .replace("{request}", user_text))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_PROMPT_FIELD = re.compile(r'"prompt"\s*:\s*"((?:[^"\\]|\\.)*)', re.S)
_NEG_FIELD = re.compile(r'"negative_prompt"\s*:\s*"((?:[^"\\]|\\.)*)"', re.S)


def usable_prompt(text) -> bool:
    """English-looking text a CLIP encoder can read; random-weight models fail this."""
    if not isinstance(text, str):
        return False
    t = text.strip()
    letters = [c for c in t if not c.isspace()]
    if len(t) < 3 or "<|" in t or "\ufffd" in t or not letters:
        return False
    ascii_share = sum(c.isascii() and (c.isalnum() or c in ",.-'()!&:;") for c in letters) / len(letters)
    words = re.findall(r"[A-Za-z]{2,}", t)
    return ascii_share >= 0.9 and len(words) >= 1 and sum(map(len, words)) >= 0.5 * len(letters)


def parse_prompt_reply(reply: str) -> dict | None:
    """{"prompt", "negative_prompt", "new_seed"} from the LLM's reply, or None if unusable.

    Tolerates code fences, text around the JSON, and a reply cut off before its
    closing brace (the prompt field is then read on its own).
    """
    reply = reply or ""
    obj = _first_json_object(reply)
    if obj is None:
        m = _PROMPT_FIELD.search(reply)
        if not m:
            return None
        try:
            prompt = json.loads(f'"{m.group(1)}"')
        except ValueError:
            prompt = m.group(1)
        neg = _NEG_FIELD.search(reply)
        obj = {"prompt": prompt, "negative_prompt": neg.group(1) if neg else ""}
    prompt = obj.get("prompt")
    if not usable_prompt(prompt):
        return None
    negative = obj.get("negative_prompt")
    return {"prompt": _clip(prompt, MAX_IMAGE_PROMPT_CHARS),
            "negative_prompt": _clip(negative, MAX_IMAGE_PROMPT_CHARS) if usable_prompt(negative) else "",
            "new_seed": obj.get("new_seed") is True}


# Follow-ups refer to the previous picture; these cue words say so (ko/en).
FOLLOWUP = re.compile(
    r"\b(?:same|again|another|instead|version|redo|it|its|him|her|them|more|less|background|"
    r"add|remove|change|zoom|one more|different)\b|같은|이번엔|이번에는|다시|하나 더|좀 더|더 |대신|"
    r"바꿔|버전|그거|이거|그걸|이걸|배경|색을|색깔|으로 해|로 해", re.I)
NEW_SEED = re.compile(
    r"\b(?:new seed|different seed|another seed|random seed|another one|another version|"
    r"different version|new version|one more)\b|다른\s*버전|다른\s*시드|새\s*시드|새로|하나 더|랜덤", re.I)
SEED = re.compile(r"(?:\bseed|시드)\s*[:=#]?\s*(\d{1,10})\b", re.I)

# Words a fallback prompt should not contain: the request itself, not the picture.
_STRIP_EN = re.compile(
    rf"{_START}(?:(?:draw|paint|sketch|illustrate|doodle|render|generate|create|make|produce|design|"
    r"give|show|send|get|imagine|turn|redo|do|try)\b(?:\s+(?:me|us|it|this|that|the same))?\s*"
    rf"(?:(?:an?|the|some|one|another|new)\s+)?(?:{_IMG_NOUN}\s*(?:of|for|with|showing|:)?)?)"
    rf"|\b(?:i want|i'd like|i would like|i need|can i (?:get|have))\s+(?:(?:an?|some|one)\s+)?"
    rf"(?:{_IMG_NOUN}\s*(?:of|for|with|showing|where|:)?)?|^\s*(?:an?\s+)?{_IMG_NOUN}\s+of\b"
    rf"|^\s*(?:{_EN_LEAD}\b[\s,]*)+|\b(?:please|for me|thanks|thank you)\b|\b(?:same\s+\w+\s*,?\s*)?but\b"
    r"|\b(?:(?:an?|the)\s+)?(?:version|another one|one more|with a different seed|again)\b"
    r"|\bseed\s*[:=#]?\s*\d+", re.I)
_STRIP_KO = re.compile(
    rf"(?:{_KO_IMG}\s*(?:을|를|으로|로)?\s*)?(?:좀\s*|하나\s*|한\s*장\s*)*"
    rf"(?:{_KO_MAKE}|다시\s*그려|그려)\s*(?:해\s*)?(?:줘요|줘|주세요|주실\s*수\s*있나요|줄래요?|줄\s*수\s*있어|봐|달라)?"
    r"|부탁(?:해|해요|드려요|합니다)?|(?:으로|로)?\s*해\s*줘|바꿔\s*줘|같은\s*\S+?(?:인데|이고|지만)|"
    r"이번엔|이번에는|[?!.~]+|시드\s*\d+")


@dataclass
class _Glossary:
    pairs: list[tuple[str, str]]

    @classmethod
    @functools.lru_cache(maxsize=1)
    def load(cls) -> "_Glossary":
        pairs = []
        if GLOSSARY_FILE.exists():
            for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    ko, en = line.split("\t")
                    pairs.append((ko.strip(), en.strip()))
        return cls(sorted(pairs, key=lambda p: -len(p[0])))    # longest first: 파란색 before 파란

    def translate(self, text: str) -> list[str]:
        """English words for the Korean ones found, in the order they appear."""
        found, taken = [], [False] * len(text)
        for ko, en in self.pairs:
            for m in re.finditer(re.escape(ko), text):
                if not any(taken[m.start():m.end()]):
                    taken[m.start():m.end()] = [True] * (m.end() - m.start())
                    found.append((m.start(), en))
        return [en for _, en in sorted(found)]


def fallback_prompt(user_text: str, previous: ImageRequest | None = None) -> str:
    """A prompt without the LLM: the user's words minus the request words, translated
    through a small ko->en glossary where possible, appended to the previous prompt
    for follow-ups. Deterministic, so random-weight models still draw something sane.

    Korean the glossary cannot translate stays in a new prompt (the user sees it on
    the card and can edit it) but is dropped from a follow-up, which keeps the
    previous English prompt instead.
    """
    text = _STRIP_EN.sub(" ", strip_command(user_text))
    text = _STRIP_KO.sub(" ", text)
    text = " ".join(text.replace(" ,", ",").split()).strip(" ,.;:")
    if re.search(r"[가-힣]", text):
        english = _Glossary.load().translate(text) + re.findall(r"[A-Za-z][A-Za-z'-]+", text)
        text = ", ".join(english) if english else ("" if previous is not None else text)
    if previous is not None:
        text = f"{previous.prompt}, {text}" if text else previous.prompt
    return _clip(text, MAX_IMAGE_PROMPT_CHARS)


def write_prompt(complete: Callable[[list[dict]], str], history: list[tuple[str, str]],
                 user_text: str, previous: ImageRequest | None, settings: GenerationSettings | None = None,
                 signal: dict | None = None, init_image: str | None = None) -> ImageRequest:
    """The conversation -> an ImageRequest with an English prompt.

    `complete(messages) -> str` is the LLM (OpenAI-style messages in, whole reply out).
    A usable prompt from the LLM's <draw> signal is taken as is, without another call.
    Follow-ups ("same cat, but blue", "같은 고양이인데 파란색으로") keep the previous
    seed, size settings aside, unless the user asks for a new one; an explicit
    "seed 42" always wins. Raises UserError when there is nothing to draw.
    """
    settings = settings or GenerationSettings()
    text = strip_command(user_text)
    followup = previous is not None and bool(FOLLOWUP.search(text) or not text)
    parsed = None
    if signal and usable_prompt(signal.get("prompt")):
        parsed = parse_prompt_reply(json.dumps(signal))
    if parsed is None and text:
        parsed = parse_prompt_reply(complete(prompt_messages(history, text, previous)))
    if parsed is not None:
        prompt, negative, new_seed = parsed["prompt"], parsed["negative_prompt"], parsed["new_seed"]
    else:
        prompt = fallback_prompt(text, previous if followup else None)
        # "ok, draw it" / "yes, generate that image": the subject is in an earlier user turn
        for role, earlier in reversed(history):
            if prompt or previous is not None:
                break
            if role == "user" and earlier.strip() != user_text.strip():
                prompt = fallback_prompt(earlier)
        negative, new_seed = "", False
    if not prompt.strip():
        raise UserError("Nothing to draw: describe the picture, e.g. '/imagine a cat in a space suit'.")
    negative = negative or (previous.negative_prompt if followup else "") or settings.negative_prompt

    if m := SEED.search(text):
        seed = int(m.group(1))
    elif followup and not (new_seed or NEW_SEED.search(text)):
        seed = previous.seed
    elif settings.seed is not None and not followup:
        seed = settings.seed
    else:
        seed = random.randrange(2**31)
    if init_image is None and followup:
        init_image = previous.init_image           # a variation of a photo stays one
    return ImageRequest(prompt=prompt, negative_prompt=negative, seed=seed, steps=settings.steps,
                        guidance=settings.guidance, width=settings.width, height=settings.height,
                        init_image=init_image, strength=settings.strength)
