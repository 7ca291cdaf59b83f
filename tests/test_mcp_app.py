"""The app as MCP tools (chatbot/ui/tools.py), driven by the MCP SDK's own client over streamable
HTTP against the launched app: an agent sees the six tools written for it (not the gradio_client
endpoints), each typed and described; a document question comes back with quoted, cited sources
and is kept as the caller's conversation, which another owner can neither list nor open; a
drawing comes back as a picture whose PNG (its owner's only) carries its provenance; speech
comes back as timed text; a missing, oversized, foreign or server-side argument is a clear error
and changes nothing."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import pytest

from chatbot.config import MAX_FILE_MB
from chatbot.ui.tools import TOOL_NAMES
from tests.mediafixtures import speak

pytestmark = pytest.mark.app

ALICE = "Bearer mcp-alice-secret-0123456789"
BOB = "Bearer mcp-bob-secret-9876543210"
NOTES = b"The lighthouse keeper is named Ada Lovelace.\nShe lights the lamp at dusk.\n" * 4


def data_url(data: bytes, mime: str, name: str = "") -> str:
    named = f";name={name}" if name else ""
    return f"data:{mime}{named};base64," + base64.b64encode(data).decode()


def session(app, auth: str, calls, language: str = "en"):
    """Run `calls(session)` in one MCP client session of the owner behind `auth`, whose client
    reads `language` (Accept-Language)."""

    async def main():
        from mcp import ClientSession
        from mcp.client.streamable_http import streamablehttp_client

        url = app.url.rstrip("/") + "/gradio_api/mcp/"
        headers = {"Authorization": auth, "Accept-Language": language}
        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await calls(s)

    return asyncio.run(main())


def text_of(result) -> str:
    return "".join(c.text for c in result.content if c.type == "text")


def test_an_agent_sees_the_tools_written_for_it(tiny_app):
    tools = session(tiny_app, ALICE, lambda s: s.list_tools()).tools
    by_name = {t.name: t for t in tools}
    assert set(by_name) == set(TOOL_NAMES), "the gradio_client endpoints are not MCP tools"
    for tool in tools:
        assert len(tool.description) > 40, f"{tool.name} is described for the agent"
        for name, prop in tool.inputSchema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name} is described"
    ask = by_name["ask_documents"].inputSchema
    assert ask["properties"]["files"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": ask["properties"]["files"]["description"],
    }
    assert set(ask["required"]) == {"question", "files"}
    draw = by_name["draw"].inputSchema
    assert draw["properties"]["seed"]["type"] == "integer" and draw["required"] == [
        "prompt",
        "seed",
    ]


def test_documents_answered_with_sources_kept_for_the_caller_only(tiny_app):
    async def alice(s):
        asked = await s.call_tool(
            "ask_documents",
            {
                "question": "Who keeps the lighthouse?",
                "files": [data_url(NOTES, "text/plain", "notes.txt")],
            },
        )
        listed = await s.call_tool("list_conversations", {})
        answer = json.loads(text_of(asked))
        opened = await s.call_tool(
            "open_conversation", {"conversation_id": answer["conversation_id"]}
        )
        return asked, answer, json.loads(text_of(listed)), json.loads(text_of(opened))

    asked, answer, listed, turns = session(tiny_app, ALICE, alice)
    assert not asked.isError and answer["answer"] and not answer["error"]
    assert answer["sources"] and all("notes.txt" in s["cite"] for s in answer["sources"])
    assert any("Ada Lovelace" in s["quote"] for s in answer["sources"]), "quoted from the file"
    keys = [step["key"] for step in answer["steps"]]
    assert keys.index("documents") < keys.index("retrieval") < keys.index("llm"), keys
    assert answer["conversation_id"] in [c["id"] for c in listed]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[0]["attachments"][0]["name"] == "notes.txt"

    async def bob(s):
        listed = await s.call_tool("list_conversations", {})
        opened = await s.call_tool(
            "open_conversation", {"conversation_id": answer["conversation_id"]}
        )
        return json.loads(text_of(listed)), opened

    bobs, opened = session(tiny_app, BOB, bob)
    assert answer["conversation_id"] not in [c["id"] for c in bobs]
    assert opened.isError and "not found" in text_of(opened)


def test_a_drawing_is_a_png_that_carries_its_provenance(tiny_app):
    """The picture comes inline (Gradio's MCP server re-encodes it) and as the URL of the PNG the
    generator wrote, whose text chunks carry the provenance: served to its owner only."""
    import httpx
    from PIL import Image

    args = {"prompt": "a lighthouse at dusk", "seed": 1234}
    drawn = session(tiny_app, ALICE, lambda s: s.call_tool("draw", args))
    assert not drawn.isError, text_of(drawn)
    (image,) = [c for c in drawn.content if c.type == "image"]
    inline = Image.open(io.BytesIO(base64.b64decode(image.data)))
    assert image.mimeType == "image/png" and inline.format == "PNG"
    url = text_of(drawn).split("Image URL: ", 1)[1].strip()
    mine = httpx.get(url, headers={"Authorization": ALICE})
    assert mine.status_code == 200, url
    png = Image.open(io.BytesIO(mine.content))
    assert png.size == inline.size
    provenance = " ".join(str(v) for v in png.info.values())
    assert "a lighthouse at dusk" in provenance and "1234" in provenance
    assert httpx.get(url, headers={"Authorization": BOB}).status_code == 404, "owner only"


def test_speech_comes_back_as_timed_text(tiny_app, tmp_path):
    wav = speak("The meeting moves to Thursday at ten.", tmp_path / "note.wav").read_bytes()
    args = {"audio": data_url(wav, "audio/wav"), "language": "en"}
    heard = session(tiny_app, ALICE, lambda s: s.call_tool("transcribe", args))
    assert not heard.isError, text_of(heard)
    out = json.loads(text_of(heard))
    assert out["text"].strip() and out["language"] == "en" and out["duration_s"] > 1
    assert out["segments"] and all(s["start_s"] < s["end_s"] for s in out["segments"])


def upload(app, auth: str, name: str, data: bytes) -> str:
    """A file sent to the app's upload endpoint (how an agent sends a file over the MCP
    transport's 4 MiB request limit): the server path the tools accept."""
    import httpx

    url = app.url.rstrip("/") + "/gradio_api/upload"
    answer = httpx.post(url, files={"files": (name, data)}, headers={"Authorization": auth})
    answer.raise_for_status()
    return answer.json()[0]


def test_bad_arguments_get_a_clear_error_and_change_nothing(tiny_app):
    carol = "Bearer mcp-carol-secret-0123456789"
    big = upload(tiny_app, carol, "big.txt", b"A" * int((MAX_FILE_MB + 1) * 2**20))
    alices = upload(tiny_app, ALICE, "alice.txt", NOTES)

    async def calls(s):
        before = await s.call_tool("list_conversations", {})
        question = {"question": "why?"}
        results = {
            "missing": await s.call_tool("ask_documents", {"files": []}),
            "no files": await s.call_tool("ask_documents", {**question, "files": []}),
            "server path": await s.call_tool(
                "ask_documents", {**question, "files": ["/etc/passwd"]}
            ),
            "oversized": await s.call_tool("ask_documents", {**question, "files": [big]}),
            "another's": await s.call_tool("ask_documents", {**question, "files": [alices]}),
            "another's audio": await s.call_tool("transcribe", {"audio": alices}),
            "bad base64": await s.call_tool(
                "describe_photo", {"photo": "data:image/png;base64,@@@not base64@@@"}
            ),
            "not audio": await s.call_tool(
                "transcribe", {"audio": data_url(NOTES, "text/plain", "notes.txt")}
            ),
            "seed": await s.call_tool("draw", {"prompt": "a cat", "seed": -5}),
        }
        after = await s.call_tool("list_conversations", {})
        return results, json.loads(text_of(before)), json.loads(text_of(after))

    results, before, after = session(tiny_app, carol, calls)
    expected = {
        "missing": "question",
        "no files": "at least one document",
        "server path": "not a file this app can read",
        "oversized": "MAX_FILE_MB",
        "another's": "not one of your files",
        "another's audio": "not one of your files",
        "bad base64": "not valid base64",
        "not audio": "not a voice recording",
        "seed": "MAX_SEED",
    }
    for case, words in expected.items():
        assert results[case].isError and words in text_of(results[case]), (case, results[case])
    assert [c["id"] for c in after] == [c["id"] for c in before], "nothing was kept"


def test_an_uploaded_file_is_read_for_its_owner(tiny_app):
    path = upload(tiny_app, BOB, "notes.txt", NOTES)
    args = {"question": "Who lights the lamp?", "files": [path]}
    asked = session(tiny_app, BOB, lambda s: s.call_tool("ask_documents", args))
    assert not asked.isError, text_of(asked)
    assert json.loads(text_of(asked))["sources"]


def test_a_korean_agent_reads_its_errors_in_korean(tiny_app):
    args = {"question": "이 문서는 무엇에 관한 것인가요?", "files": ["/etc/passwd"]}
    refused = session(tiny_app, ALICE, lambda s: s.call_tool("ask_documents", args), "ko-KR")
    assert refused.isError and "읽을 수 있는 파일이 아닙니다" in text_of(refused)


def test_a_drawing_does_not_wait_for_the_models_slot(long_app):
    """The in-process engine has one model slot, held by a chat to its end: the draw tool runs no
    LLM, so it draws while a long reply holds that slot."""
    from tests.helpers import wait_for_tokens

    chatter = long_app.client("mcp-chatter-secret-0123456789")
    story = chatter.submit({"text": "tell me a very long story", "files": []}, api_name="/chat")
    wait_for_tokens(story)
    drawn = session(long_app, BOB, lambda s: s.call_tool("draw", {"prompt": "a kite", "seed": 3}))
    still_writing = not story.done()
    chatter.predict(api_name="/stop")
    assert not drawn.isError and any(c.type == "image" for c in drawn.content), text_of(drawn)
    assert still_writing, "drawn while the story still held the model's slot"
    assert story.result(timeout=60)[2]["stopped"]
