"""The file methods of Store: put a file for an owner, find it, keep a turn's files, sweep blobs.

A mixin, FileMethods, that Store inherits; it relies on Store's session() and blobs.
"""

from __future__ import annotations

from pathlib import Path

from .errors import NotFound, StoreError
from .files import owned, register, still_held, write_failure
from .records import check_owner


class FileMethods:
    """The file methods of Store."""

    def put(self, source: str | Path | bytes, owner: str, name: str) -> str:
        """Store a file for owner (bytes, a path, or a binary file object); returns its sha256."""
        check_owner(owner)
        if isinstance(source, (str, Path)) and not Path(source).is_file():
            raise StoreError(f"Cannot store {name!r}: {source} is not a file.")
        try:
            staged = self.blobs.stage(source)
        except OSError as e:
            raise write_failure(repr(name), e) from e
        try:
            with self.blobs.lock:
                placed = None  # the blob this call moved into place, if any
                try:
                    with self.session(write=True) as s:
                        ext = register(
                            s,
                            owner,
                            staged.sha256,
                            name,
                            staged.size,
                            self.limits.max_stored_mb_per_owner,
                        )
                        target = self.blobs.location(staged.sha256, ext)
                        if not target.is_file():
                            # inside: a failed move rolls the row back
                            self.blobs.commit(staged, ext)
                            placed = target
                except BaseException:
                    if placed is not None:
                        placed.unlink(missing_ok=True)
                    raise
        except OSError as e:
            raise write_failure(repr(name), e) from e
        finally:
            staged.temp.unlink(missing_ok=True)
        return staged.sha256

    def path(self, owner: str, sha256: str) -> Path:
        """Where the owner's file is on disk; NotFound if the owner has no such file."""
        check_owner(owner)
        with self.session() as s:
            ext = owned(s, owner, sha256).ext
        location = self.blobs.location(sha256, ext)
        if not location.is_file():
            raise NotFound("file")
        return location

    def owns(self, owner: str, sha256: str) -> bool:
        try:
            self.path(owner, sha256)
            return True
        except NotFound:
            return False

    def keeper(self, owner: str):
        """keep(path, name, sha_hint) -> sha256: store a turn's file unless the owner has it."""

        def keep(path: str, name: str, sha_hint: str) -> str:
            if path:
                known = self.blobs.sha_of(Path(path))
                if known and self.owns(owner, known):
                    return known
                if Path(path).is_file():
                    return self.put(path, owner, name)
            if sha_hint and self.owns(owner, sha_hint):
                return sha_hint
            raise StoreError(f"Cannot store {name!r}: its file {path or '(no path)'} is gone.")

        return keep

    def sweep(self, released: set[tuple[str, str]]) -> None:
        """Remove blobs, (sha256, ext), that no owner has any more (after their rows were
        deleted)."""
        if not released:
            return
        with self.blobs.lock:
            with self.session() as s:
                orphans = set(released) - still_held(s, set(released))
            for sha, ext in orphans:
                try:
                    self.blobs.remove(sha, ext)
                except OSError:
                    pass  # a stale blob costs disk space, not correctness: nobody can read it
