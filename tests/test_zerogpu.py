"""The GPU functions under ZeroGPU's contract, without a GPU: on a ZeroGPU Space `spaces.GPU` runs
each call in a worker process forked from the app, sends the arguments and every result through
multiprocessing queues (pickled), and stops a stream by setting an event the worker checks between
items (spaces/zero/wrappers.py). Here `like_zerogpu` does the same on the CPU, so a model, lock or
Event passed as an argument, or a result left in the worker's memory, fails as it would there.
A real ZeroGPU Space cannot run here; this checks the contract, not the service."""

from __future__ import annotations

import inspect
import multiprocessing
from pathlib import Path

import pytest

from chatbot import gpu
from chatbot.conversation import Conversation
from tests.helpers import ask, make_photo

WORKER_TIMEOUT_S = 120  # a worker silent this long has hung: fail instead of waiting for ever


def like_zerogpu(task, calls: list):
    ctx = multiprocessing.get_context("fork")

    def worker(args_q, res_q, stop):
        import torch

        torch.set_num_threads(
            1
        )  # GNU OpenMP's thread pool does not survive a fork (the model runs on
        # the CPU here; on ZeroGPU it runs on CUDA in the worker)
        args, kwargs = args_q.get()
        try:
            out = task(*args, **kwargs)
            if inspect.isgenerator(out):
                for item in out:
                    if stop.is_set():
                        out.close()
                        break
                    res_q.put(("ok", item))
            else:
                res_q.put(("ok", out))
        except BaseException as exc:
            res_q.put(("error", f"{type(exc).__name__}: {exc}"))
        res_q.put(("end", None))
        stop.wait(
            60
        )  # ZeroGPU's workers outlive a call: tensors sent as shared memory stay readable

    def start(args, kwargs):
        calls.append(task.__name__)
        args_q, res_q, stop = (
            ctx.SimpleQueue(),
            ctx.Queue(),
            ctx.Event(),
        )  # (a Queue: get() can time out)
        proc = ctx.Process(target=worker, args=(args_q, res_q, stop), daemon=True)
        proc.start()
        args_q.put((args, kwargs))  # anything that cannot be pickled fails here, as in spaces
        return proc, res_q, stop

    def results(res_q):
        while (item := res_q.get(timeout=WORKER_TIMEOUT_S))[0] != "end":
            if item[0] == "error":
                raise RuntimeError(f"ZeroGPU worker error: {item[1]}")
            yield item[1]

    def stream(*args, **kwargs):
        proc, res_q, stop = start(args, kwargs)
        try:
            yield from results(res_q)
        finally:
            stop.set()  # what spaces does when the caller closes the stream
            proc.join(60)

    def call(*args, **kwargs):
        proc, res_q, stop = start(args, kwargs)
        try:
            return list(results(res_q))[0]
        finally:
            stop.set()
            proc.join(60)

    return stream if inspect.isgeneratorfunction(task) else call


@pytest.fixture()
def zerogpu(monkeypatch):
    calls: list[str] = []
    for name in ("_stream_on_gpu", "_encode", "_draw"):
        monkeypatch.setattr(gpu, name, like_zerogpu(getattr(gpu, name), calls))
    return calls


def test_a_photo_turn_and_a_picture_through_forked_pickling_workers(pipe, zerogpu, tmp_path):
    conv = Conversation()
    photo = make_photo(tmp_path / "red.png", (200, 40, 40))
    reply = ask(pipe, conv, "What is in this photo?", [photo])
    assert not reply.error, reply.error
    m = reply.metrics  # the token counts and timings came back from the worker
    assert m["new_tokens"] == 6 and m["prompt_tokens"] > 6 and m["ttft_s"] > 0 and m["images"] == 1
    assert zerogpu[:2] == ["_encode", "_stream_here"]
    # the new encoding came back into the conversation's cache: turn 2 does not encode again
    assert any(getattr(v, "features", None) is not None for v in conv.image_cache.values())
    again = ask(pipe, conv, "And its colour?")
    assert not again.error and zerogpu.count("_encode") == 2
    assert m["encode_s"] > 0 and again.metrics["encode_s"] == 0 and again.metrics["images"] == 1
    seen = []  # the drawing's progress, as the reply streams
    for drawn in pipe.respond(conv, "/imagine a red lighthouse at dusk"):
        seen += [s.detail for s in drawn.steps if s.key == "draw" and s.detail.startswith("step ")]
    assert not drawn.error, drawn.error
    assert "_draw" in zerogpu and drawn.files and all(Path(f).exists() for f in drawn.files)
    n = drawn.card["steps"]
    assert (
        seen and seen[-1] == f"step {n}/{n}"
    )  # every denoising step reported back from the worker


def test_stop_closes_the_workers_stream(pipe, zerogpu, monkeypatch):
    from chatbot.models.decoding import Sampling

    monkeypatch.setattr(pipe, "sampling", Sampling(max_new_tokens=5000, min_new_tokens=5000))
    conv = Conversation()
    reply = None
    for reply in pipe.respond(conv, "Count slowly."):
        if reply.text:
            conv.stop_event.set()
    assert reply.stopped and 0 < reply.metrics["new_tokens"] < 5000
