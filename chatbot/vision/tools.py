"""Does a message call for a vision tool? `/labels`, `/find QUERY`, clear requests in Korean
and English, then the LLM's own `<tool>{"name": ..., "query": ...}</tool>` line.

Rules first, because they are exact, instant and explainable; the look-alikes are turned
down before any tool rule is tried: pictures to draw ("draw a cat"), documents ("what is
in this PDF?", "find the revenue in the report"), reading or describing a photo (the VLM
answers those), and questions about the world ("what is machine learning?").
Labelled examples: data/tool_requests.jsonl (`python -m scripts.eval_tools`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import PROJECT_ROOT
from ..output_projector import explicit_request, first_json_object
from ..output_projector.signal import split_signal
from .labelsets import parse_typed_labels

TOOLS = ("labels", "find")
DATA_FILE = PROJECT_ROOT / "data" / "tool_requests.jsonl"
HELD_OUT_EVERY = 5
NO_REQUEST = "no vision request"  # the rules cannot tell: the LLM's <tool> line may still ask


@dataclass(frozen=True)
class Decision:
    tool: str | None  # "labels" | "find" | None
    query: str = ""  # find: what to look for; labels: the typed labels, comma-separated
    reason: str = ""  # shown in the step, like the draw decision's
    similar: bool = False  # find by photo: "find photos like this one" (query is empty)
    source: str = "rules"  # "command" | "rules" | "signal"

    @property
    def labels(self) -> list[str]:
        """The typed labels of a labels decision ([]: use a shipped label set)."""
        return (
            [x.strip() for x in self.query.split(",") if x.strip()] if self.tool == "labels" else []
        )


COMMAND = re.compile(r"^\s*/(labels?|find|search)\b[\s:]*(.*)$", re.I | re.S)
_SIGNAL = re.compile(r"<tool>(.*?)(?:</tool>|$)", re.S | re.I)
PHOTO = r"(?:photos?|pictures?|pics?|images?|shots?|snaps?|ones)"
KO_PHOTO = r"(?:사진|이미지|샷|것|거)"

# ---- never a vision tool: documents, drawing, reading/describing, how-to ----------------------
_DOC_EN = re.compile(
    r"\b(?:pdf|documents?|reports?|pages?|tables?|charts?|graphs?|spreadsheets?|slides?|"
    r"sections?|paragraphs?|code|error|messages?|words?|sentences?|receipts?|recipes?|"
    r"files?|plans?)\b",
    re.I,
)
_DOC_KO = re.compile(
    r"(?:pdf|PDF|문서|보고서|표는|표에|표가|그래프|차트|"
    r"쪽|페이지|코드|오류|문장|영수증|파일|글자|레시피)"
)
_PHOTO_WORD = re.compile(r"\b(?:photos?|pictures?|pics?|images?|shots?|snaps?)\b|사진|이미지", re.I)
_DRAW_VERB = re.compile(
    r"\b(?:draw|paint|sketch|illustrate|generate|create|make|render|design|imagine)\b|"
    r"그려|그림\s*그|만들어|생성|디자인",
    re.I,
)
_NOT_TOOL = [
    re.compile(
        r"^\s*(?:please\s+)?(?:describe|translate|read|summari[sz]e|explain|transcribe|tell me a|"
        r"make|generate|create|edit|draw|paint)\b",
        re.I,
    ),
    re.compile(r"\bhow\s+(?:many|much|do|can|to|should)\b|\bwhat do you think\b", re.I),
    re.compile(
        r"(?:설명|번역|읽어|요약|그려|만들어|생성|농담|"
        r"몇\s*(?:명|개|장|쪽)|얼마|어떻게|법\s*알려|방법)"
    ),
]

# ---- find: which photos show X ---------------------------------------------------------------
_SIMILAR = re.compile(
    r"\b(?:like|similar to|resembl\w*|same as)\s+(?:this|that|the (?:first|second|last)|"
    r"my|it)\b|비슷한|닮은|유사한",
    re.I,
)
_FIND_EN = [
    # "which ones show the sea?", "which of these images show people?",
    # "which picture has a red car?"
    re.compile(
        r"^\s*(?:so\s+|and\s+)?(?:which|what)\s+"
        rf"(?:{PHOTO}|of\s+(?:these|those|the|my)(?:\s+{PHOTO})?)"
        r"(?:\s+i\s+\w+)?\s+(?:shows?|has|have|contains?|features?|includes?|are|were|is|was|with)"
        r"\s+(.+)",
        re.I,
    ),
    # "find the photos with a cat", "search my photos for sunsets",
    # "pull up every shot that has a car"
    re.compile(
        rf"\b(?:find|search|look|looking|show|get|pick|give|bring|dig|filter|select|"
        rf"locate|pull up)\b"
        rf"(?:\s+(?:me|us|up|out|through|for|all|the|my|any|only|just|those|these|every|each))*"
        rf"\s+{PHOTO}\b\s*(?:of|with|where|that|which|showing|containing|taken|from|for|in which|"
        rf"that (?:has|have|show|shows))?\s*(.*)",
        re.I,
    ),
    # "search for beach photos", "show me only the sunset ones"
    re.compile(
        rf"\b(?:find|search|look|show|get|pick|locate|pull up)\b"
        rf"(?:\s+(?:me|for|up|out|all|the|my|any|only|"
        rf"just|every))*\s+((?:[\w'-]+\s+){{1,3}}?){PHOTO}\s*[?.!]*$",
        re.I,
    ),
    # "are there any photos of mountains?", "do any of my photos show a waterfall?", "are any of
    # these pictures taken in the snow?", "where's the photo of grandma?"
    re.compile(rf"\bany\s+{PHOTO}\s+(?:of|with|showing|where|that show)\s+(.+)", re.I),
    re.compile(
        rf"\bany\s+of\s+(?:my|these|those|the)\s+{PHOTO}\s+(?:shows?|has|have|contains?|with|"
        rf"taken|from|of)\s+(.+)",
        re.I,
    ),
    re.compile(
        rf"\bwhere(?:'s|\s+is|\s+are)\s+(?:the|my)\s+{PHOTO}\s+(?:of|with|from|showing)\s+(.+)",
        re.I,
    ),
]
_KO_FIND_VERB = r"(?:찾아|찾아줘|찾아 줘|찾아줄래|보여|골라|어디|있어|있나|있니|어떤\s*거|뭐야)"
_FIND_KO = [
    # "바다가 나온 사진 찾아줘", "강아지가 있는 사진 보여줘", "눈 내린 사진 있어?"
    re.compile(
        r"(.+?)\s*(?:나온|나오는|있는|찍힌|보이는|담긴|들어간|포함된|내린|많은|찍은)"
        rf"\s*{KO_PHOTO}.*{_KO_FIND_VERB}"
    ),
    # "고양이 사진 찾아줘", "해변 사진만 보여줘", "바다 사진 어디 있어?"
    re.compile(
        r"(.+?)\s*(?:사진|이미지)(?:만|들|을|를|이|은)?"
        r"\s*(?:좀\s*)?(?:찾아|보여|골라|어디|있어|있나)"
    ),
    # "어떤 사진에 사람이 있어?"
    re.compile(
        r"(?:어떤|어느|무슨)\s*(?:사진|이미지)(?:에|이|에서)\s*(.+?)\s*(?:있|나와|나오|보여)"
    ),
]
_KO_QUERY_LEAD = re.compile(r"^(?:사진들?|이미지들?)\s*(?:중에서?|중)\s*")

# ---- labels: what is this? ---------------------------------------------------------------------
_LABEL_EN = [
    re.compile(
        r"^\s*(?:so\s+|ok\s+|and\s+)?what(?:'s|\s+is|\s+are)?\s+(?:this|that|it|these|those)"
        r"(?:\s+(?:thing|object|one))?\s*\??\s*$",
        re.I,
    ),
    re.compile(
        r"^\s*what(?:'s|\s+is|\s+are)\s+(?:shown\s+)?in\s+(?:this|the|that|my)"
        rf"\s+{PHOTO}\s*\??\s*$",
        re.I,
    ),
    re.compile(
        r"^\s*what\s+(?:kind|sort|type|breed|species|object|"
        r"animal|bird|plant|flower|tree|food|dish|"
        r"fruit|insect|fish|dog|cat|car|thing)(?:\s+of\s+\w+)?"
        r"\s+(?:is|are)\s+(?:this|that|it|these|those)"
        r"(?:\s+\w+)?\s*\??\s*$",
        re.I,
    ),
    re.compile(r"^\s*what\s+am\s+i\s+looking\s+at\b", re.I),
    re.compile(
        r"^\s*(?:which|what)\s+"
        r"(?:animal|bird|plant|flower|tree|breed|species|insect|fish|dog|cat)\s+"
        r"(?:is|are)\s+(?:this|that|it|these|those)\b",
        re.I,
    ),
    re.compile(
        r"^\s*what(?:'s|\s+is|\s+are)\s+the\s+"
        r"(?:thing|object|animal|bird|plant|flower|building)s?\s+"
        rf"(?:in|on|at)\b.*\b{PHOTO}",
        re.I,
    ),
    re.compile(r"^\s*(?:please\s+)?name\s+(?:this|that|the)\s+\w+", re.I),
    re.compile(r"\b(?:tell|know|guess|say)\b.*\bwhat\s+(?:this|that|it)\s+is\b", re.I),
    re.compile(
        r"^\s*(?:please\s+|can you\s+|could you\s+)?"
        r"(?:identify|classify|label|tag|recogni[sz]e|categori[sz]e)"
        r"\s+(?:this|that|it|the|my|these)\b",
        re.I,
    ),
]
_LABEL_KO = [
    re.compile(
        r"^(?:이게|이건|이거|이것은|이것이|저게|저건|저거|얘는?)\s*(?:뭐|무엇|뭔|무슨|어떤\s*종류)"
    ),
    re.compile(
        r"^이\s*\S+?\s*(?:이름|품종|종류)?(?:은|는|이|가|에)?"
        r"\s*(?:뭐|무엇|뭔|무슨|어떤\s*종류|이름|품종)"
    ),
    re.compile(r"^(?:이\s*)?(?:사진|이미지)\s*(?:속|에|안에|의)?\s*.*?(?:뭐|무엇|뭔|무슨)"),
    re.compile(
        r"^(?:무슨|어떤)\s*(?:동물|꽃|새|나무|음식|물건|품종|종류|식물|과일|곤충|개|고양이)"
    ),
    re.compile(r"(?:분류|태그|라벨|레이블)\s*(?:좀\s*)?(?:해|달아|붙여|매겨)"),
]


def is_held_out(text: str) -> bool:
    """Deterministic 1-in-5 split by a hash of the text (stable when lines are added)."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % HELD_OUT_EVERY == 0


def load_requests(path: str | Path = DATA_FILE) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def decide(text: str, has_photos: bool = True, reply: str | None = None) -> Decision:
    """Which vision tool the message calls for, if any, and why.

    has_photos: whether the conversation has photos (without them neither tool can run).
    reply: the LLM's reply, whose `<tool>` line is read when the rules found no request
    (a look-alike they turned down, "draw a cat", stays down).
    """
    text = " ".join((text or "").split())
    if m := COMMAND.match(text):
        return command_decision(m.group(1).lower(), m.group(2).strip())
    decision = rule_decision(text)
    if decision.reason == NO_REQUEST and reply:  # a look-alike turned down by the rules stays down
        signal = parse_tool_signal(reply)[1]
        decision = signal if signal is not None else decision
    if decision.tool and not has_photos:
        return Decision(
            None, decision.query, f"{decision.reason}, but there are no photos in this conversation"
        )
    return decision


def command_decision(command: str, rest: str) -> Decision:
    if command.startswith("label"):
        return Decision(
            "labels",
            ", ".join(parse_typed_labels(rest)) if rest else "",
            "/labels command",
            source="command",
        )
    if not rest:
        return Decision(
            None, "", "/find needs what to look for, e.g. /find the sea", source="command"
        )
    return Decision(
        "find",
        rest,
        "/find command",
        bool(_SIMILAR.search(rest)) and len(rest.split()) <= 4,
        source="command",
    )


def rule_decision(text: str) -> Decision:
    """The rules alone (no LLM): a look-alike is turned down first, then find, then labels."""
    if _DRAW_VERB.search(text) and explicit_request(text):
        return Decision(None, "", "a request to draw a picture, not to look at photos")
    if (_DOC_EN.search(text) or _DOC_KO.search(text)) and not _PHOTO_WORD.search(text):
        return Decision(None, "", "about a document, not about photos")
    for p in _NOT_TOOL:
        if m := p.search(text):
            return Decision(None, "", f"the model answers this itself: '{m.group(0).strip()}'")
    if found := _find(text):
        return found
    if m := next((m for p in _LABEL_EN + _LABEL_KO if (m := p.search(text))), None):
        return Decision("labels", "", f"asks what the photo shows: '{m.group(0).strip()}'")
    typed = parse_typed_labels(text)
    if len(typed) >= 2 and text.rstrip().endswith("?") or len(typed) >= 2 and text.startswith("/"):
        return Decision("labels", ", ".join(typed), f"names candidate labels: {', '.join(typed)}")
    return Decision(None, "", NO_REQUEST)


def _find(text: str) -> Decision | None:
    if (
        _SIMILAR.search(text)
        and re.search(rf"\b{PHOTO}\b", text, re.I)
        or re.search(r"비슷한\s*(?:사진|이미지|거)", text)
    ):
        return Decision("find", "", "asks for similar photos", similar=True)
    for p in _FIND_EN + _FIND_KO:
        if m := p.search(text):
            query = clean_query(m.group(1))
            if query:
                return Decision(
                    "find", query, f"asks which photos show something: '{m.group(0).strip()}'"
                )
    return None


def clean_query(query: str) -> str:
    """What to look for, without the request's own words ("in them", "please", particles)."""
    from .labelsets import strip_particle

    q = re.sub(
        r"\b(?:in (?:them|it)|please|for me|there (?:is|are)|taken|on them)\b",
        " ",
        query,
        flags=re.I,
    )
    q = re.sub(
        r"^(?:that\s+)?(?:has|have|shows?|contains?|the ones?\s+(?:with|of|showing|where))\s+",
        "",
        q.strip(" ?.!,"),
        flags=re.I,
    )
    if re.search(r"[\uac00-\ud7a3]", q):
        q = _KO_QUERY_LEAD.sub("", q)
        q = " ".join(strip_particle(w) for w in q.split())
    return " ".join(q.split())


def parse_tool_signal(reply: str) -> tuple[str, Decision | None]:
    """Split a `<tool>{"name": "find", "query": "..."}</tool>` line off the LLM's reply.
    Returns (the reply without it, the Decision or None). Unknown tool names are ignored."""
    clean, body = split_signal(_SIGNAL, reply)
    if body is None:
        return clean, None
    obj = first_json_object(body) or {}
    name = str(obj.get("name", "")).strip().lower()
    if name not in TOOLS:
        return clean, None
    query = str(obj.get("query", "") or "").strip()
    return clean, Decision(name, query, f"the model asked for the {name} tool", source="signal")
