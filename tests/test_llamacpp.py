"""The llama.cpp engine on the bundled SmolLM2 GGUF (real weights), in process and as a real
OpenAI-compatible server (`python -m llama_cpp.server`) driven by the app's --server-url backend."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from chatbot.models import create_backend
from chatbot.models.decoding import GenStats, Sampling
from chatbot.profiles import build_config
from tests.helpers import free_port, wait_until

GREEDY = Sampling(max_new_tokens=12, min_new_tokens=12)


def chat(*texts: str) -> list[dict]:
    """Messages in the pipeline's shape: alternating user / assistant text parts."""
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": [{"type": "text", "text": t}]}
        for i, t in enumerate(texts)
    ]


@pytest.fixture(scope="module")
def llama():
    cfg = build_config("offline", engine="llama.cpp")
    backend = create_backend(cfg.llm)
    backend.load()
    return backend


def run(backend, messages, key, sampling=GREEDY, stop_event=None):
    stats = GenStats()
    text = "".join(
        backend.stream(messages, [], key=key, sampling=sampling, stop_event=stop_event, stats=stats)
    )
    return text, stats


def test_the_engine_is_one_config_field_with_its_reason():
    cfg = build_config("offline", engine="llama.cpp").llm
    assert (cfg.engine, cfg.kind) == ("llama.cpp", "text") and "llama.cpp" in cfg.engine_reason
    assert type(create_backend(cfg)).__name__ == "LlamaCppLM"


def test_streams_and_reuses_each_conversations_prefix_across_interleaved_conversations(llama):
    assert (
        llama.weights.name.endswith(".Q8_0-repack.gguf")
        and llama.weights.stat().st_size > 10 * 2**20
    )
    first, s1 = run(llama, chat("Name three colours."), "a")
    assert s1.new_tokens == 12 and s1.prompt_tokens > 10 and first
    _, sb = run(llama, chat("What is two plus two?"), "b")  # another conversation takes the model
    assert 0 < sb.reused_tokens < sb.prompt_tokens  # ...from the system prompt a's turn left
    second, s2 = run(llama, chat("Name three colours.", first, "And three animals?"), "a")
    assert s2.reused_tokens >= s1.prompt_tokens  # a's KV came back from its saved state
    # the cached continuation is what a cold model writes for the same history (greedy)
    cold = create_backend(build_config("offline", engine="llama.cpp").llm)
    cold.load()
    again, s3 = run(cold, chat("Name three colours.", first, "And three animals?"), "fresh")
    assert s3.reused_tokens == 0 and again == second


def test_the_system_prompt_is_prefilled_before_the_first_conversation(llama):
    system = [
        {"role": "system", "content": [{"type": "text", "text": "You are a terse assistant. " * 8}]}
    ]
    llama.warm(system[0]["content"][0]["text"])  # what the loader does once the model is loaded
    warm, s = run(llama, system + chat("Name a fruit."), "w1")
    assert (
        s.reused_tokens >= len(llama.prompt_ids(system)) - 4
    )  # all but the assistant header warmed
    llama.llm.reset()
    cold, c = run(llama, system + chat("Name a fruit."), "w2")
    assert c.reused_tokens == 0 and cold == warm


def test_stop_between_tokens_and_forget(llama):
    stop = threading.Event()
    pieces = []
    for piece in llama.stream(
        chat("Count from one to fifty."),
        [],
        key="s",
        stop_event=stop,
        sampling=Sampling(max_new_tokens=200, min_new_tokens=200),
        stats=GenStats(),
    ):
        pieces.append(piece)
        stop.set()
    assert 1 <= len(pieces) <= 2
    llama.forget("s")
    _, stats = run(llama, chat("Count from one to fifty."), "s")
    assert stats.reused_tokens == 0


def test_a_prompt_over_the_window_is_refused_with_the_limit_named(llama):
    from chatbot.models.llamacpp import CONTEXT_TOKENS

    with pytest.raises(RuntimeError, match="CONTEXT_TOKENS"):
        run(llama, chat("word " * (CONTEXT_TOKENS + 10)), "long")


@pytest.fixture()
def llama_server():
    import httpx

    cfg = build_config("offline").llm
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            f"{cfg.model}/{cfg.gguf_file}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"

    def serving() -> bool:
        try:
            return httpx.get(f"{url}/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, "llama_cpp.server exited"
            return False

    try:
        wait_until(serving, 120, what="llama_cpp.server to answer", every=0.5)
        yield proc, url
    finally:
        proc.kill()  # stopped by its own process id
        proc.wait(15)


def test_the_server_backend_against_a_real_llama_cpp_server(llama_server):
    proc, url = llama_server
    backend = create_backend(build_config("offline", server_url=url).llm)
    backend.load()
    text, stats = run(backend, chat("Name three colours."), "a", Sampling(max_new_tokens=16))
    assert text and 1 <= stats.new_tokens <= 16
    stop = threading.Event()
    got = []
    for piece in backend.stream(
        chat("Count from one to a hundred."),
        [],
        key="a",
        stop_event=stop,
        sampling=Sampling(max_new_tokens=300),
        stats=GenStats(),
    ):
        got.append(piece)
        stop.set()
    assert len(got) == 1  # Stop closes the stream at once
    # the server dies in the middle of a reply: a clear error, what came before is kept by the
    # caller
    got = []
    with pytest.raises(RuntimeError, match="stopped answering"):
        for piece in backend.stream(
            chat("Count from one to a hundred."),
            [],
            key="b",
            sampling=Sampling(max_new_tokens=300),
            stats=GenStats(),
        ):
            got.append(piece)
            if len(got) == 3:
                proc.kill()
    assert len(got) >= 3


def test_a_server_that_is_down_at_start_gets_a_clear_message():
    backend = create_backend(
        build_config("offline", server_url=f"http://127.0.0.1:{free_port()}/v1").llm
    )
    with pytest.raises(RuntimeError, match="no model server answers"):
        backend.load()
