"""Many people at once: named limits on what runs concurrently inside one app process.

Chats run at once up to the engine's slots (ModelConfig.chats_at_once: the sidecar's slots, a
remote server's SERVER_CHATS_AT_ONCE, 1 for an engine in this process), set on the queue by
ui/wiring.py. Inside a turn, the CPU-heavy stages take a place in their own limit (STAGES), so one
person's drawing or 300-page PDF waits for its own kind of work, not for everybody's chat; a turn
that waits sees its place ("2 ahead of you") in its step. An engine in this process holds one
sequence, so its stream holds MODEL_LOCK (the queue already lets one chat at a time in; the lock
keeps that true for every other caller). One owner may run MAX_CHATS_PER_OWNER replies at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from .config import (
    DOCUMENT_READS_AT_ONCE,
    DRAWINGS_AT_ONCE,
    MAX_CHATS_PER_OWNER,
    TRANSCRIPTIONS_AT_ONCE,
)
from .messages import text

MODEL_LOCK = threading.Lock()  # an in-process engine decodes one sequence at a time


@dataclass(frozen=True)
class Waiting:
    """What a stage's progress report carries while its turn waits for a place."""

    text: str


class StageLimit:
    """At most `at_once` runs of one kind of work; the others wait in arrival order."""

    def __init__(self, kind: str, constant: str, at_once: int):
        self.kind, self.constant, self.at_once = kind, constant, at_once
        self._cond = threading.Condition()
        self._running = 0
        self._line: list[object] = []  # tickets of the runs waiting, first come first

    def run(self, work, report, lang: str | None = None):
        """work(report) once a place is free; while it waits, report(Waiting(...)) each time
        its place in the line changes."""
        ticket = object()
        with self._cond:
            self._line.append(ticket)
            shown = None
            while self._running >= self.at_once or self._line[0] is not ticket:
                ahead = self._running + self._line.index(ticket)
                if ahead != shown:
                    shown = ahead
                    report(Waiting(self.describe(ahead, lang)))
                self._cond.wait(0.5)
            self._line.pop(0)
            self._running += 1
            self._cond.notify_all()
        try:
            return work(report)
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def describe(self, ahead: int, lang: str | None) -> str:
        return text(
            "queue.stage_ahead",
            lang,
            what=text(f"queue.kind_{self.kind}", lang),
            ahead=ahead,
            limit=self.at_once,
            constant=self.constant,
        )

    def busy(self) -> int:
        with self._cond:
            return self._running + len(self._line)


STAGES = {
    "draw": StageLimit("draw", "DRAWINGS_AT_ONCE", DRAWINGS_AT_ONCE),
    "listen": StageLimit("listen", "TRANSCRIPTIONS_AT_ONCE", TRANSCRIPTIONS_AT_ONCE),
    "documents": StageLimit("documents", "DOCUMENT_READS_AT_ONCE", DOCUMENT_READS_AT_ONCE),
}


def limited(kind: str, work, lang: str | None = None):
    """work(report) wrapped to run within its stage's limit (for steps.with_progress)."""
    return lambda report: STAGES[kind].run(work, report, lang)


class OwnerTurns:
    """Replies running per owner: one person cannot take every slot (MAX_CHATS_PER_OWNER)."""

    def __init__(self, limit: int = MAX_CHATS_PER_OWNER):
        self.limit = limit
        self._running: Counter = Counter()
        self._lock = threading.Lock()

    def enter(self, owner: str) -> bool:
        with self._lock:
            if self._running[owner] >= self.limit:
                return False
            self._running[owner] += 1
            return True

    def total(self) -> int:
        """Replies running now, all owners together."""
        with self._lock:
            return sum(self._running.values())

    def leave(self, owner: str) -> None:
        with self._lock:
            self._running[owner] -= 1
            if self._running[owner] <= 0:
                del self._running[owner]
