"""The two errors the store raises itself (limits and bad archives raise UserError).

StoreError means the store could not do its job (a damaged database, a full or read-only
disk); its message names the file and what to do. NotFound is one StoreError for both a
missing id and another owner's id, so ids cannot be probed.
"""

from __future__ import annotations


class StoreError(Exception):
    """Database or disk trouble: the message says which file and what to do."""


class NotFound(StoreError, LookupError):
    """No such conversation or file for this owner (the same answer whether it exists or not)."""

    def __init__(self, what: str = "conversation"):
        super().__init__(f"{what} not found")
