"""Shared fixtures: tiny models in hub layout, test images, and the app launched on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Everything the app caches during tests (tiny models, converted GGUF) goes to one temp folder.
os.environ.setdefault("CHATBOT_CACHE", str(Path(tempfile.gettempdir()) / "chatbot-test-cache"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, Path]:
    from chatbot.models.tiny import BUILDERS, tiny_model_path
    return {name: tiny_model_path(name) for name in BUILDERS}


@pytest.fixture(scope="module")
def pipe(tiny_models):
    """The pipeline on the tiny profile, loaded; replies are exactly 6 tokens."""
    from chatbot.models import build_config
    from chatbot.models.decoding import Sampling
    from chatbot.pipeline import Pipeline
    p = Pipeline(build_config("tiny"), Sampling(max_new_tokens=6, min_new_tokens=6))
    list(p.models.wait())
    return p


def make_photo(path: Path, color=(200, 40, 40), size=(96, 64), text: str | None = None) -> Path:
    from PIL import Image, ImageDraw, ImageFont
    img = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(img).text((12, size[1] // 3), text, fill="black", font=ImageFont.load_default(size=40))
    img.save(path)
    return path


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    return [make_photo(tmp_path / "red.png", (200, 40, 40)), make_photo(tmp_path / "blue.jpg", (30, 60, 200))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    def __init__(self, *args: str, timeout: float = 180):
        import httpx
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1",
                                      "--port", str(self.port), *args],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.perf_counter()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited early:\n{Path(self.log.name).read_text()[-3000:]}")
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    self.ready_s = time.perf_counter() - self.started
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"app did not serve within {timeout} s")

    def client(self):
        from gradio_client import Client
        return Client(self.url, verbose=False)

    def stop(self) -> None:
        self.proc.terminate()  # stopped by its own process id
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def tiny_app(tiny_models):
    app = RunningApp("--profile", "tiny", "--max-new-tokens", "24")
    yield app
    app.stop()
