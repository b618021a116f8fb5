"""Summarize a sweep: `vae-exp-summarize outputs/multirun/<date>_<time>`.

Reads every job folder of a sweep (`vae-exp-train -m ...`), finished or
interrupted, prints a table of the jobs, best first, and writes summary.csv and
summary.png into the sweep folder. Exits with 1 if a job failed, 2 if the
folder holds no sweep.
"""

from __future__ import annotations

import argparse
import logging
import sys

from vae_exp.foundation.errors import UserError
from vae_exp.sweeps.report import report


def main(argv: list[str] | None = None) -> int:
    """The `vae-exp-summarize` command; returns its exit status."""
    parser = argparse.ArgumentParser(
        prog="vae-exp-summarize",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sweep_dir", help="a sweep folder written by `vae-exp-train -m ...`")
    parser.add_argument(
        "--rank",
        metavar="METRIC",
        help="rank the jobs by this metric, lowest first (default: the sweep's optimized_metric), "
        "e.g. val/neg_elbo or eval/nll",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        summary = report(args.sweep_dir, args.rank)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if summary.failed else 0
