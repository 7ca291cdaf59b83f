"""The LLM box as an OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama).

No such server can run on this machine, so a small one speaking the same wire format
(GET /v1/models, POST /v1/chat/completions with SSE) runs on 127.0.0.1 inside the test."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chatbot.conversation import Conversation
from chatbot.pipeline import Pipeline
from chatbot.profiles import build_config
from tests.helpers import make_photo

RECEIVED: list[dict] = []


class FakeOpenAI(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        body = json.dumps({"data": [{"id": "served-vlm"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RECEIVED.append(req)
        images = sum(
            1
            for m in req["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image_url"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = [f"I see {images} images. "] + ["word "] * (req["max_tokens"] - 1)
        try:
            for w in words:
                self.wfile.write(
                    f"data: {json.dumps({'choices': [{'delta': {'content': w}}]})}\n\n".encode()
                )
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: Stop works end to end


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_server_backend_streams_with_images_as_data_urls(server, tmp_path):
    RECEIVED.clear()
    pipe = Pipeline(build_config("auto", server_url=server, max_new_tokens=5))
    conv = Conversation()
    *_, r1 = pipe.respond(
        conv, "compare", [str(make_photo(tmp_path / "a.png")), str(make_photo(tmp_path / "b.png"))]
    )
    assert r1.error is None and r1.text.startswith("I see 2 images")
    assert pipe.models.backend.name == "served-vlm" and pipe.cfg.profile == "hub"
    *_, r2 = pipe.respond(conv, "and the first?")
    assert r2.text.startswith("I see 2 images"), "photos stay in context on later turns"
    assert "cached" in r2.steps[0].detail
    parts = [
        p for m in RECEIVED[-1]["messages"] if isinstance(m["content"], list) for p in m["content"]
    ]
    assert all(
        p["image_url"]["url"].startswith("data:image/png;base64,")
        for p in parts
        if p["type"] == "image_url"
    )
    assert [m["role"] for m in RECEIVED[-1]["messages"]] == ["system", "user", "assistant", "user"]


def test_stop_closes_the_stream(server):
    pipe = Pipeline(build_config("auto", server_url=server, max_new_tokens=500))
    conv = Conversation()
    for n, reply in enumerate(pipe.respond(conv, "long please")):
        if n == 3:
            conv.stop_event.set()
    assert reply.stopped and reply.metrics["new_tokens"] < 500
