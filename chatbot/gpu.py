"""ZeroGPU (Hugging Face Spaces): GPU work runs inside @spaces.GPU functions whose duration
follows the request; models are loaded at start-up, outside them; no torch.compile.

On a ZeroGPU Space each call runs in a worker process forked from this one: its arguments and
results cross by pickle, and nothing it changes in memory comes back. So the GPU functions take
plain data (messages, encodings, requests), reach the loaded models through HELD (a forked worker
inherits it), and send back in their results what the caller needs: token counts and timings,
new image encodings (on the CPU), drawing progress. Stop closes the stream, which ZeroGPU passes
on to the worker. Off a ZeroGPU Space `spaces.GPU` returns the function unchanged: one code path
everywhere (tests/test_zerogpu.py runs it through a fork-and-pickle worker like ZeroGPU's).
Import this module before torch touches CUDA (app.py does it first)."""

from __future__ import annotations

import dataclasses
import queue
import threading
from contextlib import nullcontext

import spaces

from .limits import MODEL_LOCK
from .models.decoding import GenStats

LLM_TOKENS_PER_S_FLOOR = 15  # a ZeroGPU slice decodes faster than this: durations err long
GPU_SECONDS_MIN, GPU_SECONDS_MAX = 15, 120
ON_ZEROGPU = spaces.config.Config.zero_gpu
HELD: dict = {}  # "llm", "generator": the loaded models, inherited by a forked worker


def hold(**models) -> None:
    """Make models reachable from GPU functions. On ZeroGPU the loader holds every model before
    the first GPU call forks a worker (a worker is reused, and would not see one held later)."""
    HELD.update({name: m for name, m in models.items() if m is not None})


def _bounded(seconds: float) -> int:
    return int(min(max(seconds, GPU_SECONDS_MIN), GPU_SECONDS_MAX))


def llm_seconds(messages, encodings, key, sampling) -> int:
    return _bounded(10 + 2 * len(encodings) + sampling.max_new_tokens / LLM_TOKENS_PER_S_FLOOR)


def encode_seconds(images, cache) -> int:
    return _bounded(5 + 2 * len(images))


def draw_seconds(req) -> int:
    return _bounded(10 + 1.5 * req.steps * (req.width * req.height) / 512**2)


def _stream_here(messages, encodings, key, sampling):
    """(piece, stats so far) pairs from the held LLM, then ("", final stats)."""
    stats = GenStats()
    for piece in HELD["llm"].stream(messages, encodings, key=key, sampling=sampling, stats=stats):
        yield piece, stats
    yield "", stats


_stream_on_gpu = spaces.GPU(duration=llm_seconds)(_stream_here)


def stream(backend, messages, encodings, *, key, sampling, stop_event=None, stats=None):
    """The LLM's token stream (on the GPU slice unless a model server answers). Stop is checked
    here between pieces and closes the stream, which ends the model's loop."""
    hold(llm=backend)
    stats = stats if stats is not None else GenStats()
    served = backend.kind == "server"  # a server batches its own requests
    pairs = (_stream_here if served else _stream_on_gpu)(messages, encodings, key, sampling)
    lock = nullcontext() if served else MODEL_LOCK  # an engine here holds one sequence
    try:
        with lock:
            yield from _pieces(pairs, stats, stop_event)
    finally:
        pairs.close()


def _pieces(pairs, stats, stop_event):
    for piece, got in pairs:
        vars(stats).update(vars(got))
        if piece:
            yield piece
        if stop_event is not None and stop_event.is_set():
            stats.stopped = True
            break


@spaces.GPU(duration=encode_seconds)
def _encode(images, cache):
    """Vision encoder -> input projector for the photos not in the cache: (encodings, new cache
    entries), features on the CPU so that they can cross back to the caller."""
    fresh = dict(cache)
    encodings = [_to_cpu(e) for e in HELD["llm"].encode_images(images, fresh)]
    features = {
        e.sha256: e.features for e in encodings
    }  # moved once, for the reply and the cache alike
    return encodings, {
        k: dataclasses.replace(v, features=features[v.sha256])
        for k, v in fresh.items()
        if k not in cache
    }


def _to_cpu(enc):
    feats = getattr(enc, "features", None)
    return dataclasses.replace(enc, features=feats.cpu()) if hasattr(feats, "cpu") else enc


def encode(backend, images, cache: dict):
    """The photos' encodings; new ones join the conversation's cache here, in the caller."""
    hold(llm=backend)
    encodings, new = _encode(images, cache)
    cache.update(new)
    return encodings


@spaces.GPU(duration=draw_seconds)
def _draw(req):
    """Drawing progress as (done, total), then the picture; closing it stops the drawing."""
    progress, stop, result = queue.Queue(), threading.Event(), {}

    def run():
        try:
            result["image"] = HELD["generator"].generate(
                req, on_step=lambda *a: progress.put(a), stop_event=stop
            )
        except BaseException as exc:  # raised below, in the caller's stream
            result["error"] = exc
        finally:
            progress.put(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        while (item := progress.get()) is not None:
            yield item
    finally:
        stop.set()  # a closed stream (Stop) ends the drawing after its current step
        worker.join()
    if "error" in result:
        raise result["error"]
    yield result["image"]


def draw(generator, req, on_step=None, stop_event=None):
    """One picture from the diffusers pipeline, on the GPU slice."""
    from .generator import GenerationStopped

    hold(generator=generator)
    if stop_event is not None and stop_event.is_set():
        raise GenerationStopped("Stopped before drawing.")
    items = _draw(req)
    try:
        for item in items:
            if not isinstance(item, tuple):
                return item
            if on_step is not None:
                on_step(*item)
            if stop_event is not None and stop_event.is_set():
                raise GenerationStopped(f"Stopped after step {item[0]}.")
    finally:
        items.close()
    raise RuntimeError("the drawing ended without a picture")
