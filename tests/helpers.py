"""Helpers shared by the tests (and the benchmarks): photos, ports, waiting for a state, the
launched app."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ask(pipe, conv, text, files=()):
    """Send one message through the pipeline; the finished reply."""
    return list(pipe.respond(conv, text, [str(f) for f in files]))[-1]


def make_photo(path: Path, color=(200, 40, 40), size=(96, 64), text: str | None = None) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, color)
    if text:
        ImageDraw.Draw(img).text(
            (12, size[1] // 3), text, fill="black", font=ImageFont.load_default(size=40)
        )
    img.save(path)
    return path


def wait_until(predicate, timeout: float = 60, what: str = "the expected state", every=0.05):
    """Poll predicate() until it returns something truthy, and return that value; fail with an
    AssertionError naming `what` once `timeout` seconds have passed. The one way the tests wait
    for a state the app or an object exposes (a streamed token, a stored row, a server that
    answers): never a fixed sleep. `every` is only the polling interval."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def streaming(job) -> bool:
    """A gradio_client job's reply has started: its latest output carries some text."""
    outputs = job.outputs()
    return bool(outputs and outputs[-1][0])


def wait_for_tokens(job, timeout: float = 60):
    """Wait until a submitted /chat job streams its first text."""
    wait_until(lambda: streaming(job), timeout, what="the reply to start streaming")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    """app.py in a subprocess on 127.0.0.1, with its own data folder unless one is given
    (a restart on the same folder finds the same conversations)."""

    def __init__(
        self,
        *args: str,
        timeout: float = 180,
        data_dir: str | Path | None = None,
        port: int | None = None,
    ):
        import httpx

        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="chatbot-data-"))
        args = ("--data-dir", str(self.data_dir), *args)
        self.port = (
            port or free_port()
        )  # the same port again: a browser's localStorage is per origin
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "app.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *args,
            ],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.started = time.perf_counter()

        def serving() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited early:\n{Path(self.log.name).read_text()[-3000:]}")
            try:
                return httpx.get(self.url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(serving, timeout, what=f"the app to serve {self.url}", every=0.3)
        except AssertionError:
            self.stop()
            raise TimeoutError(f"app did not serve within {timeout} s") from None
        self.ready_s = time.perf_counter() - self.started  # a figure for bench/, no bound in a test

    def client(self, secret: str | None = None):
        """A gradio_client; with a secret it is that owner (Authorization: Bearer), else a fresh
        one."""
        from gradio_client import Client

        headers = {"Authorization": f"Bearer {secret}"} if secret else None
        return Client(self.url, verbose=False, headers=headers)

    def wait_loaded(self, what: str = "the models", timeout: float = 300) -> dict:
        """Wait until the app has loaded its models, or failed to (its /status says which);
        returns that status."""
        client = self.client()
        return wait_until(
            lambda: (
                (s := client.predict(api_name="/status"))["progress"] in ("ready", "failed") and s
            ),
            timeout,
            what=f"{what} to load",
            every=0.3,
        )

    def kill(self) -> None:
        """kill -9: no shutdown code runs, as in a crash."""
        self.proc.kill()
        self.proc.wait(15)

    def stop(self) -> None:
        self.proc.terminate()  # stopped by its own process id
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
