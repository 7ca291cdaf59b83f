"""Cold start to first served page, model ready time, and idle resident memory.

Runs `app.py` on the embedded default (profile offline: no network here) as a user would,
against a bare Gradio Blocks app launched the same way (the baseline: what Gradio alone costs).
Also times the offline model's first load (GGUF dequantization) vs the cached converted copy.
Usage: .venv/bin/python bench/bench_startup.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import Lines, record  # noqa: E402
from tests.helpers import free_port  # noqa: E402

BARE = (
    "import gradio as gr, sys\n"
    "with gr.Blocks() as d: gr.Markdown('hi')\n"
    "d.launch(server_port=int(sys.argv[1]))\n"
)


def launch(cmd: list[str], env: dict, app: bool, timeout: float = 300):
    """(seconds to first page, seconds until the model is ready (app only), idle RSS MB)."""
    port = free_port()
    proc = subprocess.Popen(
        cmd + ["--port", str(port)] if app else cmd + [str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url, t0, first, ready = f"http://127.0.0.1:{port}/", time.perf_counter(), None, None
    try:
        while time.perf_counter() - t0 < timeout and ready is None:
            try:
                if first is None and httpx.get(url, timeout=2).status_code == 200:
                    first = time.perf_counter() - t0
                    client = Client(url, verbose=False) if app else None
                if first is not None and (
                    not app or client.predict(api_name="/status")["progress"] == "ready"
                ):
                    ready = time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        time.sleep(3)  # idle
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        return first, ready, rss
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    fresh = Path(tempfile.mkdtemp())
    py = sys.executable
    launch(
        [py, "-c", BARE], env, app=False
    )  # warm-up: the first Python+Gradio start fills the disk cache
    bare = launch([py, "-c", BARE], env, app=False)
    cold = launch(
        [py, "app.py", "--profile", "auto"], dict(env, CHATBOT_CACHE=str(fresh)), app=True
    )
    warm = launch(
        [py, "app.py", "--profile", "auto"], dict(env, CHATBOT_CACHE=str(fresh)), app=True
    )
    shutil.rmtree(fresh, ignore_errors=True)
    out = Lines()
    out.say("                              first page (s)  model ready (s)  idle RSS (MB)")
    out.say(f"bare Gradio app (baseline)    {bare[0]:14.1f}  {'-':>15}  {bare[2]:13.0f}")
    out.say(f"app, first start (GGUF conv.) {cold[0]:14.1f}  {cold[1]:15.1f}  {cold[2]:13.0f}")
    out.say(f"app, next start (cached copy) {warm[0]:14.1f}  {warm[1]:15.1f}  {warm[2]:13.0f}")
    out.say(
        f"ratio app / bare Gradio: first page {warm[0] / bare[0]:.2f}x, idle memory "
        f"{warm[2] / bare[2]:.2f}x; model ready: first start {cold[1]:.1f} s -> next start "
        f"{warm[1]:.1f} s ({cold[1] / warm[1]:.1f}x faster)"
    )
    record("bench_startup", out)


if __name__ == "__main__":
    main()
