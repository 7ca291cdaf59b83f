"""Named limits of the store; every message that enforces one quotes its name.

Read as `limits.NAME` at call time (never copied at import) so tests and deployments can
change them.
"""

from __future__ import annotations

MAX_CONVERSATIONS_PER_OWNER = 500  # conversations one owner may keep
MAX_STORED_MB_PER_OWNER = 500  # photos, documents and pictures one owner may keep (MB)
MAX_ARCHIVE_MB = 100  # an imported archive, compressed and uncompressed (MB)
MAX_TITLE_CHARS = 80  # a conversation title; default titles are cut to it
MAX_OWNER_CHARS = 200  # an owner string (a browser secret or a user name)
RETENTION_DAYS = 0  # off by default; --retention-days
