"""llama.cpp's own llama-server as the app's engine (`--engine llama-server`): a sidecar process.

The in-process llama.cpp engine (llamacpp.py) decodes one sequence, so twenty people wait in one
line. llama-server decodes up to `SidecarConfig.slots` conversations in one batch (continuous
batching over a unified KV pool): on a CPU a small model's decode step costs about the same for
one sequence or eight, since it is bound by reading the weights. Each slot keeps its prompt (its
KV prefix, `cache_prompt`), a request goes to the slot whose prompt it shares most with, and idle
slots' prompts are kept in host memory (`--cache-ram`), so a conversation's next turn runs only
its new tokens. Requests beyond the slots wait in the server's queue.

The app starts it (scripts/install_llama_server.sh built it from the llama.cpp that the
llama-cpp-python sdist vendors) on 127.0.0.1 on a free port with the same Q8_0 copy of the GGUF
the in-process engine runs, waits for /health, keeps its log in the data folder, and stops it by
its own pid when the app stops (atexit; app.py turns SIGTERM into a normal exit). It talks to it
through server.OpenAICompatible, the backend of every remote server: one code path. If the
server dies in the middle of a reply, the reply so far is kept, the server is started again and
the chat says so; the next turn works.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

from ..config import LLAMA_SERVER_START_S, PROJECT_ROOT, ModelConfig, SidecarConfig
from ..messages import UserError
from .base import Progress
from .decoding import GenStats
from .server import OpenAICompatible

FLAGS_SCRIPT = PROJECT_ROOT / "scripts" / "llamacpp_flags.sh"
INSTALL_SCRIPT = "scripts/install_llama_server.sh"
LOG_NAME, PID_NAME = "llama-server.log", "llama-server.pid"


def server_binary() -> Path | None:
    """The llama-server built for this CPU kind: $CHATBOT_LLAMA_SERVER, else the build cache
    folder that scripts/llamacpp_flags.sh names (the install script's own choice of flags)."""
    given = os.environ.get("CHATBOT_LLAMA_SERVER")
    if given:
        return Path(given) if Path(given).is_file() else None
    out = subprocess.run(
        [
            "bash",
            "-c",
            f'source "{FLAGS_SCRIPT}" && '
            'echo "$CHATBOT_WHEELS/llama-server-$LLAMACPP_VERSION-$VARIANT/llama-server"',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    path = Path(out.stdout.strip()) if out.returncode == 0 else None
    return path if path is not None and path.is_file() else None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """One llama-server process: started on a free port, health-checked, stopped by its pid."""

    def __init__(self, binary: Path, weights: Path, cfg: SidecarConfig, folder: Path):
        self.binary, self.weights, self.cfg, self.folder = binary, weights, cfg, folder
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = folder / LOG_NAME
        self.pid_path = folder / PID_NAME

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        c = self.cfg
        return [
            str(self.binary),
            *("--model", str(self.weights), "--host", "127.0.0.1", "--port", str(self.port)),
            *("--parallel", str(c.slots), "--ctx-size", str(c.ctx_total), "--no-kv-unified"),
            *("--batch-size", str(c.batch), "--ubatch-size", str(c.ubatch)),
            *("--threads", str(c.threads), "--threads-batch", str(c.threads_batch)),
            *("--poll", str(c.poll), "--flash-attn", "on", "--cache-ram", str(c.cache_ram_mb)),
            *("--jinja", "--no-webui"),
        ]

    def start(self) -> None:
        """Start it and wait for /health (the weights loaded); raise with the log's tail if it
        exits or does not answer within LLAMA_SERVER_START_S."""
        import httpx

        self.folder.mkdir(parents=True, exist_ok=True)
        self.stop_stale()
        self.port = free_port()
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.command())}\n")
            log.flush()
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.pid_path.write_text(str(self.proc.pid))
        deadline = time.monotonic() + LLAMA_SERVER_START_S
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"llama-server exited with code {self.proc.returncode} while starting: "
                    f"{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"llama-server did not answer /health within {LLAMA_SERVER_START_S} s "
            f"(LLAMA_SERVER_START_S): {self.log_tail()}"
        )

    def log_tail(self, chars: int = 600) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop it by its own pid (SIGTERM, then SIGKILL after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc is not None:
            self.pid_path.unlink(missing_ok=True)

    def stop_stale(self) -> None:
        """A server left by an app that was killed (kill -9: no exit code ran) is stopped by the
        pid it wrote, if that pid is still a llama-server on this model."""
        try:
            pid = int(self.pid_path.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if "llama-server" in cmdline and str(self.weights) in cmdline:
            os.kill(pid, 15)
        self.pid_path.unlink(missing_ok=True)


class LlamaServerLM(OpenAICompatible):
    """The sidecar as a Backend: OpenAICompatible on the process it started."""

    kind = "server"  # streamed by the caller's thread (gpu.stream), batched by the server
    sees_images = False
    encoder_name = projector_name = "none (text only)"

    def __init__(self, cfg: ModelConfig):
        super().__init__(replace(cfg, server_url="http://127.0.0.1:0/v1"))
        self.name = "default"
        self.side = cfg.sidecar or SidecarConfig()
        self.server: ServerProcess | None = None
        self.restarts = 0
        self.last_exit: int | None = None  # the exit code of the process that died last
        self.system: str | None = None  # the system prompt warm() prefilled (again on a restart)
        self._lock = threading.Lock()

    def load(self, progress: Progress = lambda s: None) -> None:
        from .llamacpp import q8_copy

        binary = server_binary()
        if binary is None:
            raise RuntimeError(
                f"--engine llama-server needs the llama-server binary: bash {INSTALL_SCRIPT} "
                "(about 6 minutes on 2 cores, once), or CHATBOT_LLAMA_SERVER=/path/to/llama-server"
            )
        cfg = self.cfg
        source = Path(cfg.model) / cfg.gguf_file if cfg.gguf_file else Path(cfg.model)
        self.weights = q8_copy(source, cfg.cache_dir / "converted", progress=progress)
        folder = self.side.log_dir or cfg.cache_dir / "llama-server"
        self.server = ServerProcess(binary, self.weights, self.side, folder)
        progress(f"llama-server: {self.side.slots} slots on {self.weights.name}")
        self.server.start()
        atexit.register(self.close)
        self.url = f"{self.server.url}/v1"
        super().load(progress)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()

    def request_body(self, messages, encodings, sampling) -> dict:
        """llama-server's own fields besides OpenAI's: the slot's prompt cache, the in-process
        engine's sampling (repetition penalty, greedy as top-k 1) and, for a fixed length
        (min_new_tokens, tests and benchmarks), no end of sequence before max_tokens."""
        body = super().request_body(messages, encodings, sampling)
        body.update(
            cache_prompt=True,
            repeat_penalty=sampling.repetition_penalty,
            top_k=1 if sampling.temperature <= 0 else 0,
            min_p=0.0,
        )
        if sampling.min_new_tokens > 0:
            body["ignore_eos"] = True
        return body

    def stream(self, messages, encodings, *, key, sampling, stop_event=None, stats=None):
        stats = stats if stats is not None else GenStats()
        self.ensure_running()
        pid = self.server.pid
        try:
            yield from super().stream(
                messages, encodings, key=key, sampling=sampling, stop_event=stop_event, stats=stats
            )
        except RuntimeError as exc:
            code = self.revive(pid)
            if code is None:
                raise
            print(f"llama-server exited ({code}) mid-reply; restarted: {self.server.log_path}")
            raise UserError("llm.sidecar_restarted", code=code) from exc

    def ensure_running(self) -> None:
        """Between turns: a server found dead is started again before the request goes out."""
        if self.server is not None and not self.server.alive():
            self.revive(self.server.pid)

    def revive(self, pid: int | None) -> int | None:
        """Restart the server if the process `pid` is the one that died; its exit code (None:
        it is alive, the failure was something else). Several streams cut by one death restart
        it once."""
        with self._lock:
            server = self.server
            if server.pid == pid and server.alive():
                try:  # a killed process closes its sockets a moment before it can be reaped
                    server.proc.wait(2)
                except subprocess.TimeoutExpired:
                    return None
            if server.pid == pid:
                self.last_exit = server.proc.returncode if server.proc is not None else None
                server.stop()
                server.start()
                self.url = f"{server.url}/v1"
                self.restarts += 1
                if self.system is not None:
                    self.warm(self.system)
            return self.last_exit if self.last_exit is not None else -1

    def warm(self, system: str) -> None:
        """The system prompt prefilled in every slot, all at once (one batch)."""
        import httpx

        self.system = system

        def one(slot: int) -> None:
            body = {
                "messages": [{"role": "system", "content": system}],
                "max_tokens": 1,
                "id_slot": slot,
                "cache_prompt": True,
            }
            httpx.post(f"{self.url}/chat/completions", json=body, timeout=120)

        workers = [threading.Thread(target=one, args=(i,)) for i in range(self.side.slots)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def process(self) -> dict | None:
        server = self.server
        if server is None:
            return None
        return {
            "pid": server.pid,
            "port": server.port,
            "alive": server.alive(),
            "restarts": self.restarts,
            "slots": self.side.slots,
            "log": str(server.log_path),
        }

    def describe(self) -> str:
        s = self.side
        return (
            f"llama-server ({self.weights.name}), {s.slots} slots x {s.ctx_per_slot} tokens, "
            "continuous batching, text only, on CPU"
        )
