"""Disk that does not grow with uptime: files the app writes outside the store (drawn pictures,
page thumbnails) are deleted once older than TEMP_FILES_MAX_AGE_S; the store keeps its own
copies of everything a conversation shows. Gradio's upload cache is swept by Gradio itself
(gr.Blocks(delete_cache=...)) with the same age."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from .config import TEMP_FILES_MAX_AGE_S

SWEEP_EVERY_S = 3600


def sweep(folders: list[Path], max_age_s: float = TEMP_FILES_MAX_AGE_S) -> int:
    """Delete files older than max_age_s in the folders (not below them); how many went."""
    cutoff, gone = time.time() - max_age_s, 0
    for folder in folders:
        for path in Path(folder).glob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
            except OSError:   # removed meanwhile, or not ours to remove: never fatal
                continue
    return gone


def start_janitor(folders: list[Path], every_s: float = SWEEP_EVERY_S) -> threading.Thread:
    """Sweep now and then every `every_s` seconds, in a daemon thread."""
    def loop():
        while True:
            sweep(folders)
            time.sleep(every_s)
    thread = threading.Thread(target=loop, daemon=True, name="janitor")
    thread.start()
    return thread
