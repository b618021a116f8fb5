"""Summarize a sweep folder: `python -m vae_exp.summarize outputs/multirun/<date>_<time>`.

Works on finished and on interrupted sweeps; writes summary.csv and summary.png
into the folder and prints the table.
"""

from __future__ import annotations

import argparse
import logging
import sys

from vae_exp.sweeps.report import report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_exp.summarize", description=__doc__)
    parser.add_argument("sweep_dir", help="a folder written by `python -m vae_exp.train -m ...`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        summary = report(args.sweep_dir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not summary.rows:
        print(f"error: {args.sweep_dir} holds no job folders of a sweep", file=sys.stderr)
        return 2
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
