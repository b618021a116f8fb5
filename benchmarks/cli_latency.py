"""How fast the command line answers: `--help`, `--cfg job`, TAB completion and a refused argument,
each against `python -c "import hydra"` measured in the same run.

    python benchmarks/cli_latency.py
    python benchmarks/cli_latency.py --repeats 9

Each command runs in a fresh process, alternating with the reference, `--repeats`
times; the script prints the median wall time and peak memory of each and the
ratio to the reference's median (the target: within 1.5x). It also reports
whether PyTorch was imported, which none of these commands needs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

REFERENCE = ("import hydra", [sys.executable, "-c", "import hydra"])
COMMANDS = {
    "vae-exp-train --help": ["-m", "vae_exp.train", "--help"],
    "vae-exp-train --cfg job": ["-m", "vae_exp.train", "--cfg", "job"],
    "TAB completion (-sc query=bash)": ["-m", "vae_exp.train", "-sc", "query=bash"],
    "a refused argument": ["-m", "vae_exp.train", "no_such_setting=1"],
    "vae-exp-explore --help": ["-m", "vae_exp.explore", "--help"],
    "vae-exp-evaluate --help": ["-m", "vae_exp.evaluate", "--help"],
}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and the peak resident MB of one fresh process running `command`."""
    env = {**os.environ, "COMP_LINE": "vae-exp-train kl"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def imports_torch(arguments: list[str]) -> bool:
    """Whether the command imports PyTorch (it is run once more, with `-X importtime`)."""
    found = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "COMP_LINE": "vae-exp-train kl"},
    )
    return any(line.rsplit("|", 1)[-1].strip() == "torch" for line in found.stderr.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command (default 5)")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    times: dict[str, list[float]] = {name: [] for name in (REFERENCE[0], *COMMANDS)}
    memory: dict[str, list[float]] = {name: [] for name in times}
    for _ in range(args.repeats):
        for name, arguments in COMMANDS.items():
            for label, command in (
                (REFERENCE[0], REFERENCE[1]),
                (name, [sys.executable, *arguments]),
            ):
                seconds, megabytes = timed(command)
                times[label].append(seconds)
                memory[label].append(megabytes)
    reference = statistics.median(times[REFERENCE[0]])
    print(f"{'command':34} {'median s':>9} {'peak MB':>8} {'x import hydra':>15} {'torch':>6}")
    for name in times:
        median = statistics.median(times[name])
        torch = "" if name == REFERENCE[0] else ("yes" if imports_torch(COMMANDS[name]) else "no")
        print(
            f"{name:34} {median:9.2f} {statistics.median(memory[name]):8.0f} "
            f"{median / reference:15.2f} {torch:>6}"
        )


if __name__ == "__main__":
    main()
