"""The real llama-server, started by the app (`--engine llama-server`) on the bundled SmolLM2
GGUF, driven over gradio_client: several conversations stream at once, each its own; Stop of one
leaves the others streaming; the server killed by its pid in the middle of a reply gives a clear
message and the next turn works; the server stops with the app. Nothing waits a fixed time: every
wait is for a state the app exposes (a job's outputs, /status, /open)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from chatbot.models.sidecar import server_binary
from tests.helpers import RunningApp, wait_for_tokens, wait_until

LONG = "2000"  # replies of 2,000 tokens (no end of sequence before): they stream until stopped

pytestmark = [
    pytest.mark.offline,
    pytest.mark.skipif(
        server_binary() is None,
        reason="llama-server is not built: bash scripts/install_llama_server.sh",
    ),
]


@pytest.fixture(scope="module")
def sidecar_app():
    app = RunningApp(
        *("--profile", "offline", "--engine", "llama-server"),
        *("--max-new-tokens", LONG, "--min-new-tokens", LONG),
        timeout=300,
    )
    app.wait_loaded("the model (llama-server)")
    yield app
    app.stop()


def engine(app) -> dict:
    return app.client().predict(api_name="/status")["engine_process"]


def processing(proc: dict) -> int:
    """Slots llama-server is decoding in now (its own /slots endpoint)."""
    slots = httpx.get(f"http://127.0.0.1:{proc['port']}/slots", timeout=10).json()
    return sum(bool(s.get("is_processing")) for s in slots)


def grows(job, by: int = 3):
    """A predicate: the job has sent `by` more updates than it had now (or it ended)."""
    seen = len(job.outputs())
    return lambda: job.done() or len(job.outputs()) >= seen + by


@pytest.mark.app
def test_the_app_starts_llama_server_with_its_slots_and_keeps_its_log(sidecar_app):
    status = sidecar_app.client().predict(api_name="/status")
    assert status["progress"] == "ready", status["error"]
    proc = status["engine_process"]
    assert proc["alive"] and proc["slots"] >= 3 and proc["restarts"] == 0
    assert (
        Path(f"/proc/{proc['pid']}/cmdline").read_bytes().startswith(str(server_binary()).encode())
    )
    log = Path(proc["log"])
    assert log.parent == sidecar_app.data_dir and "--parallel" in log.read_text()
    assert "LLAMA_SERVER_SLOTS" in status["engine_reason"]  # the header shows why


@pytest.mark.app
def test_three_conversations_stream_at_once_each_its_own_and_stop_frees_only_one(sidecar_app):
    """Three owners at once: all three stream together (with one model slot the second and third
    would wait in the queue); Stop of one ends that one while the other two stream on; each
    conversation holds only its own message (no cross-talk in the per-conversation state)."""
    names = ("alpha", "bravo", "charlie")
    clients = {n: sidecar_app.client(f"sidecar-{n}-secret-0123456789") for n in names}
    jobs = {
        n: c.submit(
            {"text": f"Story {n.upper()}-{i}: tell me a long story", "files": []}, api_name="/chat"
        )
        for i, (n, c) in enumerate(clients.items())
    }
    for job in jobs.values():
        wait_for_tokens(job, timeout=120)
    assert not any(job.done() for job in jobs.values()), "all three stream at the same time"
    proc = engine(sidecar_app)
    assert processing(proc) == 3
    clients["alpha"].predict(api_name="/stop")
    _, _, info = jobs["alpha"].result(timeout=60)
    assert info["stopped"] and info["error"] is None and info["metrics"]["new_tokens"] > 0
    # the stream closed, the server freed alpha's slot (its /slots: two still decoding)
    wait_until(lambda: processing(proc) == 2, 30, what="alpha's slot to be freed")
    for n in ("bravo", "charlie"):  # the others stream on after alpha's reply has ended
        wait_until(grows(jobs[n]), 60, what=f"{n}'s reply to stream on after alpha's Stop")
        assert not jobs[n].done(), f"alpha's Stop does not stop {n}"
    for n in ("bravo", "charlie"):
        clients[n].predict(api_name="/stop")
        _, _, info = jobs[n].result(timeout=60)
        assert info["stopped"] and info["error"] is None
    for i, (n, c) in enumerate(clients.items()):
        (conv,) = c.predict(api_name="/conversations")
        turns = c.predict(conv["id"], api_name="/open")
        users = [t["text"] for t in turns if t["role"] == "user"]
        assert users == [f"Story {n.upper()}-{i}: tell me a long story"], (n, users)
        assert [t["role"] for t in turns] == ["user", "assistant"] and turns[1]["text"]


@pytest.mark.app
def test_a_killed_server_mid_reply_gives_a_clear_message_and_the_next_turn_works(sidecar_app):
    """llama-server dies (SIGKILL to its own pid) while a reply streams: the reply so far is
    kept, the chat says the engine stopped and was started again, and the next turn is
    answered by the new process."""
    client = sidecar_app.client("sidecar-kill-secret-0123456789")
    before = engine(sidecar_app)
    job = client.submit({"text": "Count to a thousand, please.", "files": []}, api_name="/chat")
    wait_for_tokens(job, timeout=120)
    os.kill(before["pid"], signal.SIGKILL)
    _, _, info = job.result(timeout=180)
    assert info["error"] and "llama-server" in info["error"] and "started again" in info["error"]
    (conv,) = client.predict(api_name="/conversations")
    kept = client.predict(conv["id"], api_name="/open")[-1]
    assert kept["role"] == "assistant" and kept["text"], "the reply so far is kept"
    after = wait_until(
        lambda: (e := engine(sidecar_app))["alive"] and e["pid"] != before["pid"] and e,
        120,
        what="llama-server to run again under a new pid",
    )
    assert after["restarts"] == before["restarts"] + 1
    nxt = client.submit({"text": "And now?", "files": []}, api_name="/chat")
    wait_for_tokens(nxt, timeout=120)
    client.predict(api_name="/stop")
    _, _, info = nxt.result(timeout=60)
    assert info["error"] is None and info["metrics"]["new_tokens"] > 0


@pytest.mark.app
def test_the_server_stops_with_the_app(sidecar_app):
    """SIGTERM to the app (what RunningApp.stop sends) stops llama-server by its pid too: no
    orphan keeps the port and the memory."""
    pid = engine(sidecar_app)["pid"]
    sidecar_app.stop()
    wait_until(
        lambda: (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        ),
        30,
        what="llama-server to exit with the app",
    )
