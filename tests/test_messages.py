"""Messages users read, in English and Korean: the catalog is complete, no English-only UserError
is left in the code, and the pipeline and the launched app answer in the reader's language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from chatbot.conversation import Conversation
from chatbot.messages import UserError, catalog, field_names, msg, reader_language, text
from tests.helpers import ROOT, ask, make_photo

HANGUL = re.compile(r"[\uac00-\ud7a3]")
KEY = re.compile(r"[a-z_]+(\.[a-z_]+)+")
RENDERERS = {"msg", "say", "text"}  # messages.text (pipeline.py imports it as say), messages.msg


def test_every_message_has_both_languages_with_the_same_fields():
    for key, entry in catalog().items():
        assert set(entry) == {"en", "ko"}, key
        assert field_names(entry["en"]) == field_names(entry["ko"]), key
        assert HANGUL.search(entry["ko"]), f"{key}: the Korean text has no Hangul"
        assert not HANGUL.search(entry["en"]), f"{key}: the English text has Hangul"
        values = dict.fromkeys(field_names(entry["en"]), 1.5)  # fits every format spec used
        assert text(key, "en", **values) and text(key, "ko", **values), key


def test_limits_are_quoted_by_name_in_both_languages():
    for key, entry in catalog().items():
        for name in re.findall(r"\b(?:MAX|MIN)_[A-Z_]+", entry["en"]):
            assert name in entry["ko"], f"{key}: the Korean text drops {name}"


def problems_in(path: Path, keys: set[str]):
    """UserError("English text ..."), UserError(f"..."), and keys missing from the catalog."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        arg, where = node.args[0], f"{path.relative_to(ROOT)}:{node.lineno}"
        constant = (
            arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        )
        if name == "UserError" and (constant is None or constant not in keys):
            yield f"{where}: UserError({ast.unparse(arg)[:60]}) is not a key of data/messages.toml"
        elif (
            isinstance(node.func, ast.Name)
            and name in RENDERERS
            and constant
            and KEY.fullmatch(constant)
            and constant not in keys
        ):
            yield f"{where}: {constant!r} is not a key of data/messages.toml"


def test_no_user_error_is_written_in_english_in_the_code_and_every_key_exists():
    keys = set(catalog())
    problems = [
        p for path in sorted((ROOT / "chatbot").rglob("*.py")) for p in problems_in(path, keys)
    ]
    assert not problems, "\n".join(problems)


def test_a_user_error_reads_english_by_default_and_korean_on_request():
    exc = UserError("files.too_big", name="big.png", mb=25.0, limit=20)
    assert str(exc) == "'big.png' is 25.0 MB, over the 20 MB limit per file (MAX_FILE_MB)."
    assert (
        exc.text("ko") == exc.text("ko-KR")
        and "MAX_FILE_MB" in exc.text("ko")
        and HANGUL.search(exc.text("ko"))
    )
    assert exc.text(None) == exc.text("fr") == str(exc)
    nested = UserError("doc.unsupported", name="a", ext=msg("word.no_extension"), supported=".pdf")
    assert "no extension" in str(nested) and "확장자 없음" in nested.text("ko")


def test_the_reader_language_is_the_browsers_else_the_messages():
    assert reader_language("ko", "hello") == "ko" and reader_language("en", "안녕하세요") == "en"
    assert reader_language(None, "안녕하세요") == "ko" and reader_language(None, "hello") == "en"


def not_a_photo(tmp_path: Path, words: str = "") -> Path:
    fake = tmp_path / "notes.png"
    fake.write_text(f"plain text pretending to be a photo {words}")
    return fake


@pytest.mark.parametrize(
    "language, question, expected",
    [
        ("ko", "이 사진은 뭐예요?", "ko"),
        (None, "이 사진은 뭐예요?", "ko"),
        ("en", "what is this?", "en"),
        (None, "what is this?", "en"),
        ("ko", "what is this?", "ko"),
    ],
)
def test_a_bad_file_is_refused_in_the_readers_language(
    pipe, tmp_path, language, question, expected
):
    conv = Conversation()
    reply = list(pipe.respond(conv, question, [str(not_a_photo(tmp_path))], language=language))[-1]
    assert conv.language == expected
    assert reply.error == UserError(
        "image.not_image", name="notes.png", kind=msg("word.text")
    ).text(expected)
    assert bool(HANGUL.search(reply.error)) == (expected == "ko")
    assert ask(pipe, conv, "still there?").error is None, "the conversation goes on"


def test_step_titles_and_details_follow_the_language(pipe, tmp_path):
    doc = tmp_path / "notes.md"
    doc.write_text("# Budget\n\nThe budget for 2024 is 3 million won.\n")
    photo = make_photo(tmp_path / "red.png")
    for lang, retrieval, photo_line, first_token in [
        ("ko", "📚 문서 검색", "사진 1(red.png)", "첫 토큰까지"),
        ("en", "📚 Retrieval", "photo 1 (red.png)", "time to first token"),
    ]:
        reply = list(
            pipe.respond(Conversation(), "budget?", [str(doc), str(photo)], language=lang)
        )[-1]
        assert reply.error is None, reply.error
        steps = {s.key: s for s in reply.steps}
        assert steps["retrieval"].title == retrieval
        assert steps["encode"].detail.startswith(photo_line)
        assert steps["llm"].detail.startswith(first_token)


@pytest.mark.app
def test_the_app_answers_in_the_browsers_language(tiny_app, tmp_path):
    for lang, expected in [("ko-KR,ko;q=0.9,en;q=0.8", "ko"), ("en-US,en;q=0.9", "en")]:
        fake = not_a_photo(tmp_path, lang)  # each client its own upload
        client = Client(tiny_app.url, verbose=False, headers={"Accept-Language": lang})
        text_out, _, info = client.predict(
            {"text": "look", "files": [handle_file(str(fake))]}, api_name="/chat"
        )
        assert info["error"] == UserError(
            "image.not_image", name="notes.png", kind=msg("word.text")
        ).text(expected)
        assert info["error"] in text_out
        empty, _, info = client.predict({"text": "", "files": []}, api_name="/chat")
        assert info["error"] == UserError("message.empty").text(expected)
