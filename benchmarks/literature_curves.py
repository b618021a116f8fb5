"""The training curves of runs against the likelihood tables, as one figure and a table.

    python benchmarks/literature_curves.py RUN [RUN ...] --out docs/figures/literature_curves.png

Each RUN is a run folder trained with `logger=csv` (so it holds `metrics.csv`),
for example of `experiment=vae_binarized`. The figure shows `train/neg_elbo`
and `val/neg_elbo` per epoch; the table gives each run's best validation epoch,
its last epoch and its wall time, and each `vae-exp-evaluate` result in the
folder (`-log p(x)` with K and the checkpoint it scored).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from matplotlib.figure import Figure

from vae_exp.runs.layout import EVALUATION_FILE, METRICS_FILE, RESULTS_FILE


def curves(run: Path) -> dict[str, list[float]]:
    with (run / METRICS_FILE).open() as handle:
        rows = list(csv.DictReader(handle))
    return {
        name: [float(row[name]) for row in rows if row.get(name)]
        for name in ("train/neg_elbo", "val/neg_elbo")
    }


def evaluations(run: Path) -> list[dict]:
    stem, suffix = Path(EVALUATION_FILE).stem, Path(EVALUATION_FILE).suffix
    found = sorted(run.glob(f"{stem}*{suffix}"), key=lambda p: p.stat().st_mtime)
    return [json.loads(path.read_text()) for path in found]


def table(runs: list[Path]) -> str:
    lines = [
        "| run | epochs | best val -ELBO (epoch) | last val -ELBO | wall time | evaluated |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        val = curves(run)["val/neg_elbo"]
        best = min(range(len(val)), key=val.__getitem__)
        record = json.loads((run / RESULTS_FILE).read_text())
        scored = "; ".join(
            f"{e['checkpoint']}: -log p(x) {e['nll']['mean']:.2f} +- {e['nll']['stderr']:.2f} "
            f"(K={e['num_samples']}, {e['split']}), -ELBO {e['neg_elbo']['mean']:.2f}"
            for e in evaluations(run)
        )
        lines.append(
            f"| {run.name} | {len(val)} | {val[best]:.2f} ({best + 1}) | {val[-1]:.2f} | "
            f"{record.get('wall_time_s', float('nan')) / 60:.1f} min | {scored or '-'} |"
        )
    return "\n".join(lines)


def figure(runs: list[Path], labels: list[str]) -> Figure:
    fig = Figure(figsize=(8, 4.5))
    axes = fig.add_subplot()
    for run, label in zip(runs, labels, strict=True):
        values = curves(run)
        for name, style in (("train/neg_elbo", ":"), ("val/neg_elbo", "-")):
            epochs = range(1, len(values[name]) + 1)
            axes.plot(epochs, values[name], style, label=f"{label} {name}")
    axes.set_xlabel("epoch")
    axes.set_ylabel("-ELBO (nats per image)")
    axes.set_ylim(top=min(120.0, axes.get_ylim()[1]))
    axes.grid(alpha=0.3)
    axes.legend()
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--labels", nargs="*", help="one per run (default: folder names)")
    parser.add_argument("--out", type=Path, help="the PNG to write")
    args = parser.parse_args()
    labels = args.labels or [run.name for run in args.runs]
    print(table(args.runs))
    if args.out:
        figure(args.runs, labels).savefig(args.out, dpi=100)
        print(f"Written: {args.out}")


if __name__ == "__main__":
    main()
