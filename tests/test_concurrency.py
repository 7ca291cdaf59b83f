"""Many people at once, without launching anything: how many chats the queue lets in per engine,
the CPU-heavy stages' own limits (a waiting turn sees its place), the per-owner limit named in its
message, the in-process engines serialised by the model lock, and the sidecar's request fields."""

from __future__ import annotations

import threading

import pytest

from chatbot import gpu, limits, steps
from chatbot.config import (
    LLAMA_SERVER_SLOTS,
    MAX_CHATS_PER_OWNER,
    SERVER_CHATS_AT_ONCE,
    ModelConfig,
    SidecarConfig,
)
from chatbot.conversation import Step
from chatbot.models.decoding import GenStats, Sampling
from chatbot.models.server import read_timings
from tests.helpers import wait_until


def test_chats_at_once_follow_the_engine():
    """Only engines that batch (the sidecar, a remote server) let several chats stream at once;
    an engine in this process holds one sequence, so its chats keep one queue slot (where Stop
    still reaches a waiting message)."""
    side = ModelConfig(kind="text", engine="llama-server", sidecar=SidecarConfig(slots=5))
    assert side.chats_at_once == 5
    assert ModelConfig(kind="text", engine="llama-server").chats_at_once == LLAMA_SERVER_SLOTS
    assert ModelConfig(kind="server").chats_at_once == SERVER_CHATS_AT_ONCE
    for engine in ("llama.cpp", "fp32", "int8", "auto"):
        assert ModelConfig(kind="text", engine=engine).chats_at_once == 1


def test_a_stage_limit_runs_one_at_a_time_and_shows_the_waiting_their_place():
    """A second drawing waits for the first (DRAWINGS_AT_ONCE-style limit of 1) and its step says
    how many are ahead, naming the constant; it runs once the first is done."""
    limit = limits.StageLimit("draw", "DRAWINGS_AT_ONCE", 1)
    release, order, reports = threading.Event(), [], []

    def first(report):
        order.append("first")
        release.wait(30)
        return "first"

    t = threading.Thread(target=limit.run, args=(first, lambda *a: None))
    t.start()
    wait_until(lambda: order == ["first"], what="the first drawing to start")
    second = threading.Thread(
        target=limit.run, args=(lambda report: order.append("second"), reports.append, "en")
    )
    second.start()
    wait_until(lambda: reports, what="the second drawing to report its place")
    assert isinstance(reports[0], limits.Waiting)
    assert "1 ahead of you" in reports[0].text and "DRAWINGS_AT_ONCE" in reports[0].text
    assert order == ["first"], "the second waits while the first draws"
    release.set()
    t.join(30)
    second.join(30)
    assert order == ["first", "second"] and limit.busy() == 0


def test_with_progress_shows_a_waiting_turns_place_in_its_step():
    step = Step(key="draw", title="draw")
    work = lambda report: (report(limits.Waiting("2 ahead of you")), report(1, 4), "done")[-1]  # noqa: E731
    seen = []
    stage = steps.with_progress(work, step, "step {}/{}")
    try:
        while True:
            seen.append(next(stage).detail)
    except StopIteration as end:
        assert end.value == "done"
    assert seen == ["2 ahead of you", "step 1/4"]


def test_the_per_owner_limit_refuses_beyond_its_constant():
    turns = limits.OwnerTurns()
    assert all(turns.enter("ann") for _ in range(MAX_CHATS_PER_OWNER))
    assert not turns.enter("ann"), "one more than MAX_CHATS_PER_OWNER is refused"
    assert turns.enter("bob"), "another owner is not held back by ann's replies"
    turns.leave("ann")
    assert turns.enter("ann")


def test_the_busy_message_names_its_constant_in_both_languages():
    from chatbot.messages import text

    for lang in ("en", "ko"):
        assert "MAX_CHATS_PER_OWNER" in text("busy.owner", lang, limit=2)
        msg = text("llm.sidecar_restarted", lang, code=-9)
        assert "llama-server" in msg and "-9" in msg


class OneSequence:
    """An in-process engine stand-in that fails if two streams overlap."""

    kind = "text"

    def __init__(self):
        self.inside = 0
        self.overlapped = False

    def stream(self, messages, encodings, *, key, sampling, stats=None, stop_event=None):
        self.inside += 1
        self.overlapped |= self.inside > 1
        try:
            for i in range(20):
                yield f"{key}{i} "
        finally:
            self.inside -= 1


def test_in_process_engines_stream_one_conversation_at_a_time():
    engine, out = OneSequence(), {}

    def run(key):
        out[key] = "".join(gpu.stream(engine, [], [], key=key, sampling=Sampling()))

    threads = [threading.Thread(target=run, args=(k,)) for k in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not engine.overlapped and all(out[k].startswith(f"{k}0 ") for k in "abcd")


def test_the_sidecar_asks_for_its_prompt_cache_and_the_in_process_sampling():
    from chatbot.models.sidecar import LlamaServerLM

    backend = LlamaServerLM(ModelConfig(kind="text", engine="llama-server", model="m.gguf"))
    body = backend.request_body(
        [{"role": "user", "content": "hi"}], [], Sampling(repetition_penalty=1.1)
    )
    assert body["cache_prompt"] and body["repeat_penalty"] == 1.1 and body["top_k"] == 1
    assert "ignore_eos" not in body
    fixed = backend.request_body([], [], Sampling(max_new_tokens=96, min_new_tokens=96))
    assert fixed["ignore_eos"] and fixed["max_tokens"] == 96


@pytest.mark.parametrize(
    "chunk, expected",
    [
        ({"timings": {"prompt_n": 5, "cache_n": 120}}, (125, 120)),
        ({"choices": [{"delta": {"content": "x"}}]}, (0, 0)),  # vLLM, TGI: no timings
    ],
)
def test_llama_servers_timings_give_the_reused_prefix(chunk, expected):
    stats = GenStats()
    read_timings(chunk, stats)
    assert (stats.prompt_tokens, stats.reused_tokens) == expected
