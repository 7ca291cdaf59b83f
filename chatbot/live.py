"""Replies in progress, so that another client of the same owner can watch one live.

    live.begin(conv, reply) -> Run      pipeline._reply, as a reply starts
    run.bump()                          the reply grew (a token, a step)
    run.finish()                        it ended (done, stopped or failed); the run is dropped
    live.find(owner, conversation_id)   the owner's run on that conversation, or None
    run.follow() -> Iterator[Turn]      the reply now, then each time it changes, until it ends

A follower only watches: it saves nothing (the reply is stored once, by the session that asked
for it) and leaving stops nothing; Stop from a follower stops the reply it follows.
"""

from __future__ import annotations

import threading
from typing import Iterator

from .conversation import Conversation, Turn

FOLLOW_POLL_S = 1.0  # a follower looks again at least this often (a run that ended unseen)


class Run:
    def __init__(self, conv: Conversation, reply: Turn):
        self.conv, self.reply = conv, reply
        self.version, self.done = 0, False
        self.changed = threading.Condition()

    def bump(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def finish(self) -> None:
        with self.changed:
            self.done, self.version = True, self.version + 1
            self.changed.notify_all()

    def follow(self) -> Iterator[Turn]:
        seen = -1
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.version != seen, timeout=FOLLOW_POLL_S)
                seen, done = self.version, self.done
            yield self.reply
            if done:
                return


class Live:
    """The runs in progress, by conversation id."""

    def __init__(self):
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def begin(self, conv: Conversation, reply: Turn) -> Run:
        run = Run(conv, reply)
        with self._lock:
            self._runs[conv.id] = run
        return run

    def end(self, run: Run) -> None:
        run.finish()
        with self._lock:
            if self._runs.get(run.conv.id) is run:
                del self._runs[run.conv.id]

    def find(self, owner: str, conversation_id: str) -> Run | None:
        with self._lock:
            run = self._runs.get(conversation_id)
        return run if run is not None and owner and run.conv.owner == owner else None
