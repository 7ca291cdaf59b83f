"""An OpenAI-compatible model server (vLLM, TGI, llama.cpp server, Ollama) as the LLM box.

Images travel as data URLs in `image_url` parts; the server's own encoder and
projector turn them into tokens, so the UI reports "encoded by the server".
"""

from __future__ import annotations

import base64
import io
import json
import time

from ..config import MAX_IMAGE_SIDE_GPU, ModelConfig
from ..ingest.images import pixels
from .base import Backend, ImageEncoding, Progress
from .decoding import GenStats


class OpenAICompatible(Backend):
    kind = "server"
    sees_images = True
    encoder_name = "server-side vision encoder"
    projector_name = "server-side projector"

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.name = cfg.model
        self.url = cfg.server_url.rstrip("/")

    def load(self, progress: Progress = lambda s: None) -> None:
        import httpx

        progress(f"connecting to {self.url}")
        try:
            r = httpx.get(f"{self.url}/models", timeout=10)
            r.raise_for_status()
        except httpx.HTTPError as e:
            raise RuntimeError(
                f"no model server answers at {self.url} ({type(e).__name__}): start it, or check "
                "--server-url (it ends in /v1 for vLLM, llama.cpp and Ollama)"
            ) from e
        ids = [m.get("id") for m in r.json().get("data", [])]
        if self.name == "default" and ids:
            self.name = ids[0]

    def encode_images(self, images, cache: dict) -> list[ImageEncoding]:
        out = []
        for att in images:
            key = ("server", att.sha256)
            if key not in cache:
                img = pixels(att).copy()
                img.thumbnail((MAX_IMAGE_SIDE_GPU, MAX_IMAGE_SIDE_GPU))
                buf = io.BytesIO()
                img.save(buf, format="PNG")
                url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
                cache[key] = ImageEncoding(att.sha256, 0, 0.0, False, data_url=url)
                out.append(cache[key])
            else:
                out.append(ImageEncoding(att.sha256, 0, 0.0, True, data_url=cache[key].data_url))
        return out

    @staticmethod
    def to_openai(messages, encodings):
        urls = iter(e.data_url for e in encodings)
        out = []
        for m in messages:
            parts = (
                m["content"]
                if isinstance(m["content"], list)
                else [{"type": "text", "text": m["content"]}]
            )
            content = [
                {"type": "image_url", "image_url": {"url": next(urls)}}
                if p["type"] == "image"
                else {"type": "text", "text": p["text"]}
                for p in parts
            ]
            if all(p["type"] == "text" for p in content):
                content = "\n".join(p["text"] for p in content)
            out.append({"role": m["role"], "content": content})
        return out

    def stream(self, messages, encodings, *, key, sampling, stop_event=None, stats=None):
        import httpx

        stats = stats if stats is not None else GenStats()
        body = self.request_body(messages, encodings, sampling)
        try:
            yield from self.read_stream(body, stats, stop_event)
        except (
            httpx.HTTPError
        ) as e:  # refused, reset or cut short: say so, the caller keeps the partial reply
            raise RuntimeError(
                f"the model server at {self.url} stopped answering ({type(e).__name__}); "
                "the reply so far is kept. Check that the server is running, then retry."
            ) from e

    def request_body(self, messages, encodings, sampling) -> dict:
        """The /chat/completions request: the OpenAI fields every server reads (a subclass adds
        its server's own)."""
        return {
            "model": self.name,
            "messages": self.to_openai(messages, encodings),
            "stream": True,
            "max_tokens": sampling.max_new_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": sampling.seed,
        }

    def read_stream(self, body: dict, stats: GenStats, stop_event):
        import httpx

        t0 = time.perf_counter()
        with httpx.stream("POST", f"{self.url}/chat/completions", json=body, timeout=120) as r:
            if r.status_code >= 400:
                r.read()
                raise RuntimeError(f"model server answered {r.status_code}: {r.text[:300]}")
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                read_timings(chunk, stats)
                choices = chunk.get("choices") or [{}]
                piece = choices[0].get("delta", {}).get("content") or ""
                if not piece:
                    continue
                stats.new_tokens += 1  # servers send about one token per chunk
                if stats.new_tokens == 1:
                    stats.ttft_s, t_first = time.perf_counter() - t0, time.perf_counter()
                stats.decode_s = time.perf_counter() - t_first
                yield piece
                if stop_event is not None and stop_event.is_set():
                    stats.stopped = True
                    break  # leaving the `with` closes the connection: the server stops too

    def describe(self) -> str:
        return f"{self.name} via OpenAI-compatible server at {self.url}"


def read_timings(chunk: dict, stats: GenStats) -> None:
    """llama-server sends `timings` with its last chunk: the prompt's tokens, and how many of
    them came from the slot's prompt cache (vLLM, TGI and Ollama send none: nothing changes)."""
    t = chunk.get("timings")
    if isinstance(t, dict) and "prompt_n" in t:
        stats.reused_tokens = int(t.get("cache_n", 0))
        stats.prompt_tokens = int(t["prompt_n"]) + stats.reused_tokens
