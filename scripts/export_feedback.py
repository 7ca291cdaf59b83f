"""The rated replies (👍 / 👎) of a conversation store as an evaluation set, one JSON line each.

    python -m scripts.export_feedback --out feedback.jsonl            # the default data folder
    python -m scripts.export_feedback --data-dir DIR --rating down --files-to eval_files/
    python -m scripts.export_feedback --database-url postgresql+psycopg://... --data-dir DIR

A line: {"question", "files": [{"name", "kind", "sha256", "path"}], "reply", "rating",
"comment", "conversation", "turn", "owner"} (owner: the store's hash, never a secret). The
question is the user message the reply answered, on the reply's own branch. --files-to copies
each file out of the store (named <sha256>.<ext>) and points "path" at the copy. The store is
only read (no crash recovery runs), so this works while the app is serving.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from chatbot.config import data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="the app's --data-dir")
    parser.add_argument("--database-url", default=None, help="the app's --database-url")
    parser.add_argument("--out", default="-", help="a .jsonl file (default: standard output)")
    parser.add_argument("--rating", choices=("up", "down"), default=None, help="only these")
    parser.add_argument("--owner", default=None, help="only this owner (the store's hash)")
    parser.add_argument("--files-to", type=Path, default=None, help="copy the files here")
    args = parser.parse_args(argv)

    from chatbot.store import Store
    from chatbot.store.feedback import rated_turns

    store = Store.open(args.data_dir or data_dir(), args.database_url, recover=False)
    try:
        items = rated_turns(store, args.owner, args.rating)
    finally:
        store.close()
    if args.files_to is not None:
        args.files_to.mkdir(parents=True, exist_ok=True)
        for entry in (f for it in items for f in it["files"]):
            copy = args.files_to / (entry["sha256"] + Path(entry["path"]).suffix)
            if not copy.exists():
                shutil.copyfile(entry["path"], copy)
            entry["path"] = str(copy)
    lines = "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)
    if args.out == "-":
        sys.stdout.write(lines)
    else:
        Path(args.out).write_text(lines, encoding="utf-8")
    print(f"{len(items)} rated replies", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
