"""What every benchmark script shares."""

from __future__ import annotations


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
