"""The MCP tools' file arguments (chatbot/ui/tools.py), without launching anything: a data: URL
becomes a file of Gradio's cache granted to its caller, named safely whatever name it claims; a
path is accepted only inside that cache; an oversized or broken data: URL is refused before it
is decoded or written."""

from __future__ import annotations

import base64
import types
from pathlib import Path

import pytest

from chatbot.messages import UserError
from chatbot.ui import tools
from chatbot.ui.files import Access


@pytest.fixture
def tool(tmp_path):
    access = Access(cache_dir=tmp_path / "cache")
    access.cache.mkdir()
    return tools.Tools(types.SimpleNamespace(access=access), None)


def url(data: bytes, mime: str = "text/plain", params: str = "") -> str:
    return f"data:{mime}{params};base64," + base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "params, mime, name",
    [
        (";name=report.pdf", "application/pdf", "report.pdf"),
        ("", "application/pdf", "file.pdf"),
        (";name=../../etc/cron.d/x.txt", "text/plain", "x.txt"),
        (";name=..", "text/plain", "file"),
        (";name=a b;c.txt", "text/plain", "a_b"),  # ";" ends the parameter
    ],
)
def test_a_data_url_names_a_plain_file(params, mime, name):
    found = tools.DATA_URL.match(url(b"x", mime, params))
    assert found is not None and tools.data_url_name(found) == name


def test_a_data_url_becomes_the_callers_file_in_the_cache(tool):
    path = tool.received(url(b"hello", params=";name=../notes.txt"), "o-alice")
    assert tool.h.access.cache in Path(path).parents
    assert open(path, "rb").read() == b"hello" and path.endswith("notes.txt")
    assert tool.h.access.may_read(path, {"o-alice"}) and not tool.h.access.may_read(path, {"o-bob"})


def test_paths_outside_the_cache_and_bad_urls_are_refused(tool, tmp_path, monkeypatch):
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    inside = tool.received(url(b"fine"), "o-alice")
    assert tool.received(inside, "o-alice") == inside  # an upload's path is taken as it is
    for value in (str(outside), "/etc/passwd", "http://127.0.0.1/x.pdf", "", 42):
        with pytest.raises(UserError, match="not a file this app can read"):
            tool.received(value, "o-alice")
    with pytest.raises(UserError, match="not valid base64"):
        tool.received("data:text/plain;base64,@@@", "o-alice")
    monkeypatch.setattr(tools, "MAX_FILE_MB", 0.001)
    written = set(tool.h.access.cache.rglob("*"))
    with pytest.raises(UserError, match="MAX_FILE_MB"):
        tool.received(url(b"x" * 4096), "o-alice")
    assert set(tool.h.access.cache.rglob("*")) == written, "refused before anything is written"
