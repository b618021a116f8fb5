"""K jobs at once against one at a time: the same sweep, whole sweep against whole sweep.

    python benchmarks/parallel_jobs.py                  # 4 jobs, K=2, 2 repeats
    python benchmarks/parallel_jobs.py --jobs 4 --at-once 2 --repeats 3 --batches 300

Three ways to run one grid sweep of `--jobs` jobs, alternated `--repeats` times
in one session (this machine's speed drifts over minutes):

- one at a time: Hydra's basic launcher;
- K at once, cores shared: `hydra/launcher=joblib hydra.launcher.n_jobs=K`, each
  job's PyTorch threads set to cores // K (what vae-exp does);
- K at once, not shared: the same with `VAE_EXP_JOBS_AT_ONCE=1`, so that every job
  starts one thread per core, as PyTorch does by default.

Prints each one's median wall time for the whole sweep, and the ratios against
one at a time (above 1: faster). Reads MNIST from `../shared/data` or `VAE_EXP_DATA_DIR`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def run_sweep(way: str, jobs: int, at_once: int, batches: int) -> float:
    """Wall seconds of one whole sweep, run the given way."""
    seeds = ",".join(str(n) for n in range(jobs))
    overrides = [
        "-m",
        f"seed={seeds}",
        "trainer.max_epochs=1",
        f"+trainer.limit_train_batches={batches}",
        "trainer.enable_progress_bar=false",
        "callbacks=none",
    ]
    env = {**os.environ, "VAE_EXP_DATA_DIR": os.environ.get("VAE_EXP_DATA_DIR", str(SHARED_DATA))}
    if way != "one at a time":
        overrides += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={at_once}"]
    if way == "K at once, not shared":
        env["VAE_EXP_JOBS_AT_ONCE"] = "1"
    with tempfile.TemporaryDirectory() as out:
        env["VAE_EXP_OUTPUT_DIR"] = out
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "vae_exp.train", *overrides],
            env=env,
            cwd=out,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{way} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--at-once", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", type=int, default=300, help="training batches per job")
    args = parser.parse_args()
    ways = ["one at a time", "K at once, cores shared", "K at once, not shared"]
    walls: dict[str, list[float]] = {way: [] for way in ways}
    for repeat in range(args.repeats):
        for way in ways if repeat % 2 == 0 else list(reversed(ways)):
            walls[way].append(run_sweep(way, args.jobs, args.at_once, args.batches))
            print(f"  {way:<24} {walls[way][-1]:7.1f} s", flush=True)
    cores = len(os.sched_getaffinity(0))
    print(f"{args.jobs} jobs of {args.batches} batches, K={args.at_once}, {cores} cores")
    base = statistics.median(walls["one at a time"])
    for way in ways:
        median = statistics.median(walls[way])
        print(f"{way:<24} median {median:7.1f} s   speed-up {base / median:4.2f}x")


if __name__ == "__main__":
    main()
