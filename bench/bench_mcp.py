"""What the MCP layer costs: the same document question through the ask_documents tool (the MCP
SDK's client over streamable HTTP; the file as a data: URL, and as an uploaded path) and through
gradio_client's /chat, against the launched app in the same run (offline profile, replies fixed
at 64 tokens, a new conversation each time).

    .venv/bin/python bench/bench_mcp.py [--repeats 3]

Gradio's MCP server answers a tool call through a gradio_client of its own to the app's queue,
so a call crosses HTTP twice; the tool decodes a data: URL into the cache and checks the file
before the turn. After the warm-up the app's parse cache holds the document for all three
ways alike, so what differs is the layer. Reported: the median wall time of each way, and its
ratio to /chat. Run it alone: two cores are easily saturated.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.bench_app_engine import QUESTION, handbook  # noqa: E402
from bench.common import Lines, record  # noqa: E402

TOKENS = 64
SECRET = "bench-mcp-secret-0123456789"


def through_chat(app, doc: Path) -> float:
    from gradio_client import handle_file

    client = app.client(SECRET)  # a new client: a new conversation
    t0 = time.perf_counter()
    _, _, info = client.predict(
        {"text": QUESTION, "files": [handle_file(str(doc))]}, api_name="/chat"
    )
    assert not info["error"], info["error"]
    return time.perf_counter() - t0


def through_mcp(app, file_argument) -> float:
    """One ask_documents call in a fresh MCP session; file_argument() gives the file's value
    (the upload, when it is one, counts in the time)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def call() -> float:
        url = app.url.rstrip("/") + "/gradio_api/mcp/"
        headers = {"Authorization": f"Bearer {SECRET}"}
        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                t0 = time.perf_counter()
                args = {"question": QUESTION, "files": [file_argument()]}
                result = await s.call_tool("ask_documents", args)
                assert not result.isError, result.content
                return time.perf_counter() - t0

    return asyncio.run(call())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    import httpx
    from helpers import RunningApp

    doc = handbook(Path(tempfile.mkdtemp()) / "handbook.txt")
    data = doc.read_bytes()
    data_url = "data:text/plain;name=handbook.txt;base64," + base64.b64encode(data).decode()

    def uploaded() -> str:
        answer = httpx.post(
            app.url.rstrip("/") + "/gradio_api/upload",
            files={"files": ("handbook.txt", data)},
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        return answer.json()[0]

    app = RunningApp(
        *("--profile", "offline", "--max-new-tokens", str(TOKENS)),
        *("--min-new-tokens", str(TOKENS)),
        timeout=300,
    )
    try:
        app.wait_loaded()
        through_chat(app, doc), through_mcp(app, lambda: data_url)  # warm both paths
        times = {"chat": [], "mcp data URL": [], "mcp upload": []}
        for _ in range(args.repeats):  # interleaved: what else runs falls on all alike
            times["chat"].append(through_chat(app, doc))
            times["mcp data URL"].append(through_mcp(app, lambda: data_url))
            times["mcp upload"].append(through_mcp(app, uploaded))
    finally:
        app.stop()
    lines = Lines()
    chat = statistics.median(times["chat"])
    lines.say(
        f"a {len(data):,}-byte document question, {TOKENS}-token replies, offline, "
        f"median of {args.repeats}"
    )
    for way, seconds in times.items():
        median = statistics.median(seconds)
        lines.say(f"  {way:<14} {median:6.2f} s   {median / chat:4.2f}x /chat")
    record("bench_mcp: the MCP tools against /chat", lines)


if __name__ == "__main__":
    main()
