"""Disk that does not grow with uptime: files the app writes outside the store (drawn pictures,
page thumbnails) are deleted once older than TEMP_FILES_MAX_AGE_S; the store keeps its own
copies of everything a conversation shows. Gradio's upload cache is swept by Gradio itself
(gr.Blocks(delete_cache=...)) with the same age.

Those files live in this process's own folder (private_dir: a fresh random name, mode 0700,
removed at exit), never in a shared, predictable one: no other process or user can read them,
plant a file where the app expects its own, or see another run's files."""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from .config import TEMP_FILES_MAX_AGE_S

SWEEP_EVERY_S = 3600
RUN_PREFIX = "chatbot-run-"


@functools.lru_cache(maxsize=1)
def run_dir() -> Path:
    """This process's folder for files outside the store: chatbot-run-<pid>-<random>, 0700."""
    path = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def private_dir(name: str) -> Path:
    """A subfolder of run_dir() (created by whoever writes into it first)."""
    return run_dir() / name


def sweep_dead_runs(root: Path | None = None) -> int:
    """Remove the folders of runs whose process is gone (a crash or kill skips atexit)."""
    gone = 0
    for folder in Path(root or tempfile.gettempdir()).glob(f"{RUN_PREFIX}*"):
        m = re.fullmatch(rf"{RUN_PREFIX}(\d+)-.+", folder.name)
        try:
            if not m or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(m.group(1)), 0)  # raises if no such process
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
        except (OSError, ValueError):
            continue
    return gone


def sweep(folders: list[Path], max_age_s: float = TEMP_FILES_MAX_AGE_S) -> int:
    """Delete files older than max_age_s in the folders (not below them); how many went."""
    cutoff, gone = time.time() - max_age_s, 0
    for folder in folders:
        for path in Path(folder).glob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
            except OSError:  # removed meanwhile, or not ours to remove: never fatal
                continue
    return gone


def start_janitor(folders: list[Path], every_s: float = SWEEP_EVERY_S) -> threading.Thread:
    """Sweep now and then every `every_s` seconds, in a daemon thread."""

    def loop():
        sweep_dead_runs()
        while True:
            sweep(folders)
            time.sleep(every_s)

    thread = threading.Thread(target=loop, daemon=True, name="janitor")
    thread.start()
    return thread
