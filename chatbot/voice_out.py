"""Spoken replies, offline: the reply read aloud by the machine's speech synthesiser (Debian's
espeak-ng), in Korean or English by the text. Says plainly when there is none."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

from .cleanup import private_dir
from .messages import UserError
from .prompts import language_of

SPEECH_DIR = private_dir(
    "speech"
)  # this process's own folder; named by content; swept by cleanup.py
MAX_SPOKEN_CHARS = 2000  # longer replies are read up to here
SPEAK_TIMEOUT_S = 60


def read_aloud(text: str) -> str:
    """A WAV of the text (the first MAX_SPOKEN_CHARS), by espeak-ng; UserError if it cannot be
    done."""
    engine = shutil.which("espeak-ng")
    if engine is None:
        raise UserError("speech.no_synth")
    text = re.sub(r"[*_`#>\[\]]", " ", text or "").strip()[:MAX_SPOKEN_CHARS]
    if not text:
        raise UserError("speech.no_text")
    voice = "ko" if language_of(text) == "Korean" else "en"
    SPEECH_DIR.mkdir(parents=True, exist_ok=True)
    out = SPEECH_DIR / f"{hashlib.sha256((voice + text).encode()).hexdigest()[:32]}.wav"
    if not out.exists():
        done = subprocess.run(
            [engine, "-v", voice, "-w", str(out), "--stdin"],
            input=text.encode(),
            capture_output=True,
            timeout=SPEAK_TIMEOUT_S,
        )
        if done.returncode != 0 or not out.exists():
            raise UserError("speech.failed", error=done.stderr.decode(errors="replace")[:200])
    return str(out)
