"""What every benchmark script shares: the --threads option, and recording a run's summary in
bench/RESULTS.md (a dated entry under the benchmark's own heading)."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "RESULTS.md"))


def add_threads_option(parser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0 = torch's default); 1 is steadier when other "
        "processes compete for the cores",
    )


def apply_threads(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    return torch.get_num_threads()


class Lines(list):
    """The summary lines of a run: each one printed as it comes, all of them kept for record()."""

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.extend(text.splitlines() or [""])


def machine() -> str:
    """Cores this process may use, the CPU's model name, and the GPU if torch sees one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch = sys.modules.get("torch")  # only when the benchmark loaded it: no import for this
    gpu = "no GPU"
    if torch is not None and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
    return f"{cores} cores ({cpu}), {gpu}"


def command() -> str:
    """The command line that ran this benchmark, the interpreter relative to the repository."""
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    return " ".join([str(python), *sys.argv])


def record(title: str, lines: list[str], path: Path = RESULTS) -> None:
    """Add a dated entry (date, command line, machine, the summary lines) under `## title` in
    bench/RESULTS.md, newest first; a benchmark without a heading yet gets one at the end.
    BENCH_RESULTS=PATH writes elsewhere (a trial run)."""
    today = datetime.date.today().isoformat()
    entry = [f"### {today} · `{command()}` · {machine()}", "", "```", *lines, "```", ""]
    rows = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["# Results", ""]
    heading = f"## {title}"
    if heading in rows:
        at = rows.index(heading) + 1
        while at < len(rows) and not rows[at].startswith(("### ", "## ")):
            at += 1  # past the section's description, to its newest entry
        rows[at:at] = [""] * bool(rows[at - 1].strip()) + entry
    else:
        rows += ["", heading, "", *entry]
    path.write_text("\n".join(rows).rstrip() + "\n", encoding="utf-8")
    print(f"recorded in {path}")
