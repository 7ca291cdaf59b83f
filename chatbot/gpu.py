"""ZeroGPU (Hugging Face Spaces): GPU work runs inside @spaces.GPU functions whose duration
follows the request; models are loaded at start-up, outside them; no torch.compile. Off a
ZeroGPU Space the `spaces` decorator does nothing, so this is the one code path everywhere.
Import this module before torch touches CUDA (app.py does it first)."""
from __future__ import annotations

import spaces

LLM_TOKENS_PER_S_FLOOR = 15     # a ZeroGPU slice decodes faster than this: durations err long
GPU_SECONDS_MIN, GPU_SECONDS_MAX = 15, 120


def _bounded(seconds: float) -> int:
    return int(min(max(seconds, GPU_SECONDS_MIN), GPU_SECONDS_MAX))


def llm_seconds(backend, messages, encodings, *, key, sampling, stop_event=None, stats=None) -> int:
    return _bounded(10 + 2 * len(encodings) + sampling.max_new_tokens / LLM_TOKENS_PER_S_FLOOR)


def draw_seconds(generator, req, on_step=None, stop_event=None) -> int:
    return _bounded(10 + 1.5 * req.steps * (req.width * req.height) / 512**2)


def encode_seconds(backend, images, cache) -> int:
    return _bounded(5 + 2 * len(images))


@spaces.GPU(duration=llm_seconds)
def stream(backend, messages, encodings, *, key, sampling, stop_event=None, stats=None):
    """The LLM's token stream, on the GPU slice."""
    yield from backend.stream(messages, encodings, key=key, sampling=sampling, stop_event=stop_event,
                              stats=stats)


@spaces.GPU(duration=encode_seconds)
def encode(backend, images, cache):
    """Vision encoder -> input projector for the photos, on the GPU slice."""
    return backend.encode_images(images, cache)


@spaces.GPU(duration=draw_seconds)
def draw(generator, req, on_step=None, stop_event=None):
    """One picture from the diffusers pipeline, on the GPU slice."""
    return generator.generate(req, on_step=on_step, stop_event=stop_event)
