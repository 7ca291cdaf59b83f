"""Explicit requests to draw, by rules (ko/en): /imagine, "draw a cat", "그려줘", and the
look-alikes that are not requests ("draw a conclusion", "describe this drawing")."""

from __future__ import annotations

import re

COMMAND = re.compile(r"^\s*/(?:imagine|draw)\b[\s:,]*", re.I)

# EN_LEAD, START, IMG_NOUN, KO_IMG and KO_MAKE are shared with the fallback prompt
# (prompt.py), which strips the request words these patterns find.

EN_LEAD = (
    r"(?:please|pls|plz|kindly|now|ok|okay|so|and|then|also|just|hey|yes|sure|"
    r"can you|could you|would you|will you|can u|could u|would you mind|"
    r"i want you to|i'd like you to|i would like you to|i need you to|"
    r"help me|let's|lets|go ahead and|try to)"
)
START = rf"(?:^|[.!?;:,\n]\s*)\s*(?:{EN_LEAD}[\s,]+)*"
# "draw" in another sense: conclusions, attention, comparisons, up a contract, on knowledge...
_EN_IDIOM = (
    r"(?:up|on|from|upon|out|near|closer|back|(?:a|the|any|some|your|my|our|clear|"
    r"useful|firm|broad)?\s*(?:conclusions?|inferences?|parallels?|comparisons?|"
    r"distinctions?|attention|lessons?|insights?|breath|line\b|lines\b|blood|lots|"
    r"straws?|cards?|blanks?|the\s+curtains|the\s+blinds|water\b|a\s+bath|the\s+town))"
)
_EN_CHART = r"(?:charts?|graphs?|plots?|tables?|flowcharts?|histograms?)"
IMG_NOUN = (
    r"(?:images?|pictures?|pics?|photos?|photographs?|drawings?|paintings?|"
    r"illustrations?|sketch(?:es)?|artworks?|art|wallpapers?|logos?|icons?|posters?|"
    r"portraits?|renders?|cartoons?|comics?|comic panels?|avatars?|stickers?|"
    r"concept art|pixel art|watercolou?rs?|oil paintings?)"
)
_NOT_PREP = r"(?!(?:for|of|from|in|about|on|to|with|and|or|the text)\b)"

EN_POSITIVE = [
    # "draw a cat", "please paint me a lake", "can you sketch ..."
    re.compile(
        rf"{START}(?:draw|paint|sketch|illustrate|doodle)\b"
        rf"(?!\s+{_EN_IDIOM})(?!\s+(?:\w+\s+){{0,2}}{_EN_CHART}\b)\s+\w",
        re.I,
    ),
    # "generate an image of", "make this photo look like", "give me a picture of"
    re.compile(
        rf"{START}(?:generate|create|make|produce|render|design|give me|show me|send me|"
        rf"turn|get me|imagine and draw)\s+(?:me\s+)?(?:{_NOT_PREP}[\w'-]+[\s,]+){{0,3}}?"
        rf"{IMG_NOUN}\b(?!\s+(?:description|caption|analysis|recognition|search|"
        rf"quality|format|size|file|generation|model)s?\b)"
        rf"(?=\s*(?:of|for|with|showing|where|that|in|look|into|:|,|please|$|[.!?]))",
        re.I,
    ),
    # "create a variation of the image I uploaded"
    re.compile(
        r"\bvariations?\s+of\s+(?:the|this|my|that)\s+(?:image|picture|photo|drawing)", re.I
    ),
    # "I want a picture of", "I'd like an illustration of"
    re.compile(
        r"\b(?:i want|i'd like|i would like|i need|can i (?:get|have))\s+(?:an?|some|one)\s+"
        rf"(?:[\w'-]+\s+){{0,2}}{IMG_NOUN}\b",
        re.I,
    ),
    # "render a cozy cabin", "render it in 3D"
    re.compile(
        rf"{START}(?:render|visuali[sz]e)\s+(?:an?|the|it|this|some)\b"
        rf"(?!\s+(?:\w+\s+){{0,2}}{_EN_CHART}\b)(?!\s+data\b)",
        re.I,
    ),
]
# Two kinds of "no": NEVER overrides a request-looking match ("draw a conclusion",
# "can you draw?"); ABOUT (asking about an existing picture) only cancels one out,
# leaving mixed messages to the LLM signal and the classifier.
EN_ABOUT = [
    # asking about a picture that exists
    re.compile(
        r"\b(?:describe|explain|caption|analy[sz]e|summari[sz]e|read|transcribe|translate|"
        r"identify|recogni[sz]e|interpret|critique|review|evaluate|rate|compare|classify|"
        r"label|extract|ocr)\b.*\b(?:drawing|picture|image|photo|painting|sketch|"
        r"illustration|diagram|chart|graph|screenshot|scan|figure|pic|artwork)s?\b",
        re.I,
    ),
    re.compile(r"^\s*(?:describe|caption|explain|summari[sz]e|read|translate|transcribe)\b", re.I),
    re.compile(
        r"\b(?:what|who|which|where|when|why|how many|is there|are there|does|do you see|"
        r"can you see|tell me|is (?:this|the|it))\b.*\b(?:drawn|drew|painted|sketched|depicted|"
        r"shown|shows|in (?:this|the|that|my|these) (?:drawing|picture|image|photo|"
        r"painting|sketch|illustration|chart|figure|pic|scan|screenshot)s?)\b",
        re.I,
    ),
    re.compile(
        r"^\s*(?:what(?:'s| is| are)|who|which|where|is|are|does|do)\b.*\b(?:drawing|picture|"
        r"image|photo|painting|sketch|illustration|figure|diagram|chart)s?\b.*\?\s*$",
        re.I,
    ),
]
EN_NEVER = [
    # "draw" in another sense, and charts (a chart is data, not a diffusion picture)
    re.compile(rf"\bdraw(?:s|n|ing)?\s+(?:heavily\s+)?{_EN_IDIOM}", re.I),
    re.compile(
        rf"\b(?:draw|make|create|generate|plot)\s+(?:me\s+)?(?:an?|the|some)?\s*"
        rf"(?:[\w-]+\s+){{0,2}}{_EN_CHART}\b",
        re.I,
    ),
    # how-to and capability questions
    re.compile(
        r"\bhow\s+(?:do|can|should|would|to)\s+(?:i|we|you|one)?\s*(?:draw|paint|sketch)", re.I
    ),
    re.compile(r"\bwhat\s+(?:should|can|could)\s+i\s+(?:draw|paint|sketch)", re.I),
    re.compile(
        r"^\s*(?:can|could|do|are|will)\s+you\s+(?:able\s+to\s+|even\s+|also\s+)?"
        r"(?:draw|generate|make|create|paint)(?:\s+(?:images|pictures|drawings|art|paintings|"
        r"photos))?\s*\??\s*$",
        re.I,
    ),
]

KO_IMG = (
    r"(?:그림|이미지|사진|일러스트|삽화|포스터|로고|아이콘|배경화면|캐릭터|초상화|만화|아바타"
    r"|image|picture)"
)
KO_MAKE = r"(?:만들어|생성|그려|뽑아|제작|디자인)"
_KO_CHART = r"(?:그래프|차트|표|도표|다이어그램|순서도|도면)"
KO_POSITIVE = [
    # "그려줘", "그려 주세요", "그려줄래?", "그려봐", "그려 주실 수 있나요"
    re.compile(r"그려\s*(?:줘|줘요|주세요|주셔|줄래|줄\s*수|주실|주라|주겠|봐|보세요|달라|줄래요)"),
    # "그림 그려", "이미지 만들어줘", "사진 하나 생성해줘", "일러스트 부탁해"
    re.compile(
        rf"{KO_IMG}\s*(?:을|를|이|도|으로|로)?\s*(?:좀\s*|하나\s*|한\s*장\s*|하나만\s*)*"
        rf"(?:{KO_MAKE}|부탁)"
    ),
    re.compile(rf"{KO_IMG}\s*(?:하나|한\s*장)\s*(?:만|만요|만\s*부탁)?\s*[.!?]*\s*$"),
    # "로고 디자인해줘"
    re.compile(r"디자인\s*해\s*(?:줘|주세요|줄래)"),
]
KO_ABOUT = [
    # about a picture that exists: "그림에 뭐가 있어?", "사진 속 글자", "이 그림 설명해줘"
    re.compile(rf"{KO_IMG}\s*(?:에|에서|속|속에|안에|의)\s"),
    re.compile(r"(?:설명|분석|요약|번역|해석|묘사|평가|추출|정리)\s*(?:해|하|좀|을|를)"),
    re.compile(r"읽어\s*(?:줘|주세요|줄래)"),
    re.compile(r"(?:뭐|무엇|무슨|누가|누구|어떤|몇|어디|왜|어때|뭔)"),
    # "그려진", "누가 그렸어", "그린 거야"
    re.compile(r"그려진|그려져|그렸|그린\s*(?:거|것|게|건|사람|작가|화가)"),
]
KO_NEVER = [
    # how-to, and how image generation works
    re.compile(r"그리는\s*(?:법|방법|걸|것|앱)|어떻게\s*그|어떻게\s*(?:작동|동작|만들어지|생성되)"),
    re.compile(rf"{KO_IMG}\s*생성\s*(?:모델|기능|방법|과정|원리|AI)"),
    # charts are data, not diffusion pictures; capability questions
    re.compile(rf"{_KO_CHART}\s*(?:을|를|좀|하나)?\s*(?:그려|만들어|생성)"),
    # "그림 그릴 수 있어?" asks what the bot can do; "고양이 그릴 수 있어?" is a polite request
    re.compile(
        r"^\s*(?:너\s*)?(?:그림|이미지|사진)?\s*(?:을|를|도)?\s*(?:그릴|만들|생성할)\s*수\s*"
        r"있(?:어|나|니|어요|나요|습니까)\s*\??\s*$"
    ),
]


def is_command(text: str) -> bool:
    return bool(COMMAND.match(text or ""))


def strip_command(text: str) -> str:
    return COMMAND.sub("", text or "", count=1).strip()


def _first_match(patterns: list[re.Pattern], text: str) -> str | None:
    """The first pattern's match, shown with a few words after it (for the reason)."""
    for p in patterns:
        if m := p.search(text):
            return " ".join(
                text[m.start() :].strip(" ,.;:").split()[: max(4, len(m.group(0).split()))]
            )
    return None


def explicit_decision(text: str) -> tuple[bool | None, str]:
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
    return explicit_decision(text)[0]
