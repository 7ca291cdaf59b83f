"""The scores of a scripts/eval_documents.py run: the rates of each group of questions (all,
per split, kind, language and file) and the table printed at the end.
"""

from __future__ import annotations

METRICS = (
    "answer_ok",
    "own_ok",
    "lead",
    "cited_ok",
    "top_ok",
    "hit1",
    "hit3",
    "in_context",
    "markup",
)


def _rates(rows: list[dict]) -> dict:
    n = len(rows)
    out = {"n": n}
    for metric in METRICS:  # (results written before a metric existed count it as 0)
        out[metric] = sum(r.get(metric, 0) for r in rows) / n if n else None
    out["cited_or_top"] = sum(r["cited_ok"] or r["top_ok"] for r in rows) / n if n else None
    tables = [r for r in rows if r["kind"] == "table"]
    scans = [r for r in rows if r["kind"] == "scan"]
    out["table_answer"] = (sum(r["answer_ok"] for r in tables) / len(tables)) if tables else None
    out["table_n"] = len(tables)
    out["scan_answer"] = (sum(r["answer_ok"] for r in scans) / len(scans)) if scans else None
    out["scan_n"] = len(scans)
    out["errors"] = sum(bool(r["error"]) for r in rows)
    return out


def summarise(results: list[dict]) -> dict:
    groups: dict[str, list[dict]] = {"all": results}
    for r in results:
        groups.setdefault(f"split={r['split']}", []).append(r)
        groups.setdefault(f"kind={r['kind']}", []).append(r)
        groups.setdefault(f"lang={r.get('lang', 'en')}", []).append(r)
        groups.setdefault(f"file={r['file']}", []).append(r)
    summary = {name: _rates(rows) for name, rows in groups.items()}
    summary["seconds_per_question"] = (
        sum(r["seconds"] for r in results) / len(results) if results else None
    )
    return summary


def _fmt(value) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def print_summary(summary: dict, profile: str, total_s: float) -> None:
    print(
        f"\nprofile={profile}  ({total_s:.0f} s, "
        f"{_fmt(summary['seconds_per_question'])} s/question)"
    )
    print(
        f"{'group':34} {'n':>3}  answer own  lead  cited  top  cit|top hit@1 hit@3 in_ctx  "
        f"table(n)    scan(n)  markup errors"
    )
    for name, s in summary.items():
        if not isinstance(s, dict):
            continue
        print(
            f"{name[:34]:34} {s['n']:>3}  {_fmt(s['answer_ok'])}   {_fmt(s['own_ok'])} "
            f"{_fmt(s['lead'])}  {_fmt(s['cited_ok'])} "
            f"{_fmt(s['top_ok'])}  {_fmt(s['cited_or_top'])}   {_fmt(s['hit1'])}  "
            f"{_fmt(s['hit3'])}  {_fmt(s['in_context'])}   "
            f"{_fmt(s['table_answer'])}({s['table_n']:>2})"
            f"  {_fmt(s['scan_answer'])}({s['scan_n']})  {_fmt(s['markup'])}  {s['errors']}"
        )
