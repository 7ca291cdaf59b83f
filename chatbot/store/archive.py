"""Export and import formats: readable Markdown, and a zip archive that imports back.

An archive holds conversation.json (title, dates, turn records), conversation.md (the same
conversation to read) and files/<sha256>.<ext> (every file a turn points to), so the
Markdown's relative links work once the archive is unpacked. Reading an archive validates
all of it (entry names, sizes, JSON, every record, every file's hash) before anything is
written; any problem is a UserError that says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from chatbot.branches import path_to
from chatbot.messages import UserError

from ..config import MAX_ARCHIVE_MB
from .files import SHA256, extension_of, read_chunks
from .records import check_record, shas_of

FORMAT = "chatbot-conversation"
VERSION = 2  # 2: turns carry "id" and "parent" (the message tree) and the document a "head"
READS = (1, 2)  # version 1 (linear turns) imports as a single branch
MEMBER = re.compile(r"files/(" + SHA256.pattern + r")(\.[A-Za-z0-9]{1,8})?")
CITATION = re.compile(
    r"\[(?:([^\[\]\n]+?) )?(p\.|sheet|slide|§) ([^\[\]\n]+?)\](?!\()"
)  # [p. 3] [slide 2] [§ Setup]


def extension(name: str) -> str:
    """A safe file extension taken from a file's name ('.png'), or '' (as blobs get theirs)."""
    ext = extension_of(name)
    return f".{ext}" if ext else ""


def link(sha256: str, names: dict[str, str]) -> str:
    return f"files/{sha256}{extension(names.get(sha256, ''))}"


def visible(records: list[dict], head: int | None) -> list[dict]:
    """The records of the visible path (records carry "id" and "parent"), root first."""
    by_id = {r["id"]: r for r in records}
    return [by_id[i] for i in path_to(head, {r["id"]: r["parent"] for r in records})]


# ---- Markdown -----------------------------------------------------------------------------
def to_markdown(title: str, records: list[dict], names: dict[str, str]) -> str:
    """The conversation to read: pictures inline, documents and citations as file links.
    names maps sha256 -> stored file name (for extensions and link text)."""
    documents = {
        a["name"]: a["sha256"] for r in records for a in r["attachments"] if a["kind"] != "image"
    }
    out = [f"# {title or 'Conversation'}", ""]
    for rec in records:
        out += [f"### {'You' if rec['role'] == 'user' else 'Assistant'}", ""]
        if rec["text"]:
            out += [cite_links(rec["text"], documents, names), ""]
        for a in rec["attachments"]:
            target = link(a["sha256"], names)
            out.append(
                f"![{a['name']}]({target})"
                if a["kind"] == "image"
                else f"[📎 {a['name']}]({target})"
            )
        out += [f"![picture {i + 1}]({link(sha, names)})" for i, sha in enumerate(rec["files"])]
        out += steps_markdown(rec["steps"], documents, names)
        if rec["card"]:
            card = rec["card"]
            out.append(f"> Picture prompt: {card.get('prompt', '')} (seed {card.get('seed', '?')})")
        if rec["error"]:
            out.append(f"> ⚠️ {rec['error']}")
        if rec["status"] in ("stopped", "interrupted"):
            out.append(f"> ({rec['status']})")
        if rec.get("rating"):
            thumb = "👍" if rec["rating"] == "up" else "👎"
            out.append(f"> {thumb} {rec.get('comment') or ''}".rstrip())
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def steps_markdown(
    steps: list[dict], documents: dict[str, str], names: dict[str, str]
) -> list[str]:
    if not steps:
        return []
    lines = ["", "<details><summary>Steps</summary>", ""]
    for s in steps:
        detail = cite_links(s["detail"], documents, names).replace("\n", "\n  ")
        lines.append(f"- **{s['title']}**" + (f": {detail}" if detail else ""))
    return lines + ["", "</details>", ""]


def cite_links(text: str, documents: dict[str, str], names: dict[str, str]) -> str:
    """'[report.pdf p. 3]' -> a link to the stored PDF at page 3; '[p. 3]' links when the
    conversation has a single document."""

    def replace(m: re.Match) -> str:
        file, unit, page = m.groups()
        sha = (
            documents.get(file)
            if file
            else (next(iter(documents.values())) if len(documents) == 1 else None)
        )
        if sha is None:
            return m.group(0)
        anchor = f"#page={page}" if unit == "p." else ""
        return f"{m.group(0)}({link(sha, names)}{anchor})"

    return CITATION.sub(replace, text)


# ---- writing --------------------------------------------------------------------------
def write_archive(
    dest: Path, meta: dict, records: list[dict], blobs: dict[str, tuple[Path, str]]
) -> Path:
    """Write the zip to a temporary file next to dest, then move it into place, so a failed
    export never leaves half an archive. blobs maps sha256 -> (stored path, name)."""
    dest = Path(dest)
    names = {sha: name for sha, (_, name) in blobs.items()}
    doc = {
        "format": FORMAT,
        "version": VERSION,
        **meta,
        "turns": records,
        "files": {sha: {"name": name} for sha, name in names.items()},
    }
    fd, temp = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("conversation.json", json.dumps(doc, ensure_ascii=False, indent=1))
            shown = visible(records, meta.get("head"))
            z.writestr("conversation.md", to_markdown(meta.get("title", ""), shown, names))
            for sha, (path, _) in blobs.items():
                z.write(path, link(sha, names))
        os.replace(temp, dest)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return dest


# ---- reading (untrusted) ----------------------------------------------------------------
@dataclass
class Archive:
    """A validated archive: its title, turn records, and the zip entry of each file."""

    path: Path
    title: str
    records: list[dict]
    members: dict[str, str]  # sha256 -> entry name in the zip
    names: dict[str, str]  # sha256 -> file name
    sizes: dict[str, int]  # sha256 -> size in bytes
    ids: list[int] = None  # each record's node id, ascending (the message tree)
    parents: list = None  # each record's parent id (None: a first message)
    head: int | None = None  # the last turn of the visible path


def bad(path: Path, why: str) -> UserError:
    return UserError("import.not_archive", name=Path(path).name, why=why)


def read_archive(path: Path, max_mb: float = MAX_ARCHIVE_MB) -> Archive:
    """Validate an archive completely (sizes, names, JSON, records, hashes); write nothing.
    max_mb (StoreLimits.max_archive_mb) bounds it, compressed and uncompressed."""
    path, cap = Path(path), max_mb * 2**20
    try:
        size = path.stat().st_size
    except OSError as e:
        raise bad(path, f"it cannot be read ({e.strerror})") from e
    if size > cap:
        raise UserError("import.too_big", name=path.name, mb=size / 2**20, limit=max_mb)
    try:
        with zipfile.ZipFile(path) as z:
            members = check_entries(path, z.infolist(), cap)
            doc = load_document(path, z)
            archive = check_document(path, doc, members)
            for sha, member in archive.members.items():
                verify_member(path, z, member, sha)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as e:
        raise bad(path, f"it is not a readable zip file ({e})") from e
    return archive


def check_entries(path: Path, infos: list[zipfile.ZipInfo], cap: int) -> dict[str, zipfile.ZipInfo]:
    """Only known entry names, no duplicates, and a bounded uncompressed total."""
    seen: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if info.is_dir() and name == "files/":
            continue
        if name not in ("conversation.json", "conversation.md") and not MEMBER.fullmatch(name):
            raise bad(path, f"unexpected entry {name[:80]!r}")
        if name in seen:
            raise bad(path, f"entry {name!r} appears twice")
        seen[name] = info
    total = sum(i.file_size for i in seen.values())
    if total > cap:
        raise UserError(
            "import.unpacks_too_big", name=path.name, mb=total / 2**20, limit=cap / 2**20
        )
    if "conversation.json" not in seen:
        raise bad(path, "conversation.json is missing")
    return seen


def load_document(path: Path, z: zipfile.ZipFile) -> dict:
    info = z.getinfo("conversation.json")
    with z.open(info) as f:
        raw = f.read(info.file_size + 1)
    if len(raw) > info.file_size:
        raise bad(path, "conversation.json is larger than its entry says")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(path, f"conversation.json is not valid JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(path, f"conversation.json does not say format {FORMAT!r}")
    if doc.get("version") not in READS:
        raise bad(
            path,
            f"format version {doc.get('version')!r} is not supported (this app reads {VERSION})",
        )
    return doc


def check_document(path: Path, doc: dict, entries: dict[str, zipfile.ZipInfo]) -> Archive:
    """Records valid, and every file they point to present in files/."""
    title, turns = doc.get("title", ""), doc.get("turns")
    if not isinstance(title, str) or not isinstance(turns, list):
        raise bad(path, "conversation.json needs a title string and a turns list")
    records = []
    for i, raw in enumerate(turns):
        try:
            records.append(check_record(raw))
        except ValueError as e:
            raise bad(path, f"turn {i + 1}: {e}") from e
    ids, parents, head = check_tree(path, doc, turns)
    by_sha = {m.group(1): name for name in entries if (m := MEMBER.fullmatch(name))}
    needed = set().union(*(shas_of(r) for r in records)) if records else set()
    missing = sorted(needed - set(by_sha))
    if missing:
        raise bad(path, f"file {missing[0]} is referenced but not in files/")
    listed = doc.get("files") if isinstance(doc.get("files"), dict) else {}
    names = {}
    for sha in needed:
        info = listed.get(sha)
        name = info.get("name") if isinstance(info, dict) else None
        names[sha] = name if isinstance(name, str) and name else Path(by_sha[sha]).name
    return Archive(
        path,
        title,
        records,
        {sha: by_sha[sha] for sha in needed},
        names,
        {sha: entries[by_sha[sha]].file_size for sha in needed},
        ids,
        parents,
        head,
    )


def check_tree(path: Path, doc: dict, turns: list) -> tuple[list[int], list, int | None]:
    """The turns' ids and parents and the head. Version 1 is one line of turns; version 2 names
    them: ids ascending and distinct, each parent an earlier turn (so there is no cycle)."""
    if doc.get("version") == 1:
        n = len(turns)
        return list(range(n)), [i - 1 if i else None for i in range(n)], (n - 1 if n else None)

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    ids, parents = [t.get("id") for t in turns], [t.get("parent") for t in turns]
    for i, (node, parent) in enumerate(zip(ids, parents)):
        if not whole(node) or (i and node <= ids[i - 1]):
            raise bad(path, f"turn {i + 1}: id must be a whole number above the one before")
        if parent is not None and not (whole(parent) and parent in ids[:i]):
            raise bad(path, f"turn {i + 1}: parent must be null or the id of an earlier turn")
    head = doc.get("head")
    if head is not None and head not in ids:
        raise bad(path, "head must be null or the id of a turn")
    return ids, parents, head


def verify_member(path: Path, z: zipfile.ZipFile, member: str, sha256: str) -> None:
    """The entry's bytes hash to its name and are no longer than its header says."""
    info = z.getinfo(member)
    digest, size = hashlib.sha256(), 0
    with z.open(info) as f:
        for chunk in read_chunks(f):
            size += len(chunk)
            if size > info.file_size:
                raise bad(path, f"{member} is larger than its entry says")
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise bad(path, f"{member} does not match its sha256 (damaged or edited)")
