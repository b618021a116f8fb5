"""How fast the command line answers: `--help`, `--cfg job`, TAB completion and a refused argument,
each against `python -c "import hydra"` measured in the same run.

    python benchmarks/cli_latency.py
    python benchmarks/cli_latency.py --repeats 9

Each command runs in a fresh process, alternating with the reference, `--repeats`
times, twice over: answered afresh (`VAE_EXP_CLI_CACHE=off`: Hydra composes the
config), and answered again (the answer an identical earlier call kept, see
`vae_exp/cli/answers.py`; a refusal is never kept, so it is composed again).
The script prints the median wall time and peak memory of each and the ratio
to the reference's median (the target: within 1.5x). It also reports whether
PyTorch was imported, which none of these commands needs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

WAYS = ("afresh", "again")
REFERENCE = ("import hydra", [sys.executable, "-c", "import hydra"])
COMMANDS = {
    "vae-exp-train --help": ["-m", "vae_exp.train", "--help"],
    "vae-exp-train --cfg job": ["-m", "vae_exp.train", "--cfg", "job"],
    "TAB completion (-sc query=bash)": ["-m", "vae_exp.train", "-sc", "query=bash"],
    "a refused argument": ["-m", "vae_exp.train", "no_such_setting=1"],
    "vae-exp-explore --help": ["-m", "vae_exp.explore", "--help"],
    "vae-exp-evaluate --help": ["-m", "vae_exp.evaluate", "--help"],
}


def timed(command: list[str], cache: str = "off") -> tuple[float, float]:
    """Wall seconds and the peak resident MB of one fresh process running `command`."""
    env = {**os.environ, "COMP_LINE": "vae-exp-train kl", "VAE_EXP_CLI_CACHE": cache}
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
        env={**os.environ, "COMP_LINE": "vae-exp-train kl", "VAE_EXP_CLI_CACHE": "off"},
    )
    return any(line.rsplit("|", 1)[-1].strip() == "torch" for line in found.stderr.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command (default 5)")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    names = [REFERENCE[0], *COMMANDS]
    times: dict[str, dict[str, list[float]]] = {way: {n: [] for n in names} for way in WAYS}
    memory: dict[str, dict[str, list[float]]] = {way: {n: [] for n in names} for way in WAYS}
    with tempfile.TemporaryDirectory() as kept:
        for arguments in COMMANDS.values():  # the earlier call whose answer is kept
            timed([sys.executable, *arguments], cache=kept)
        for _ in range(args.repeats):
            for name, arguments in COMMANDS.items():
                for way, cache in zip(WAYS, ("off", kept), strict=True):
                    for label, command in (
                        (REFERENCE[0], REFERENCE[1]),
                        (name, [sys.executable, *arguments]),
                    ):
                        seconds, megabytes = timed(command, cache)
                        times[way][label].append(seconds)
                        memory[way][label].append(megabytes)
    print(
        f"{'command':34} {'afresh s':>9} {'MB':>5} {'x hydra':>8} "
        f"{'again s':>8} {'MB':>5} {'x hydra':>8} {'torch':>6}"
    )
    for name in names:
        row = f"{name:34}"
        for way, width in zip(WAYS, (9, 8), strict=True):
            median = statistics.median(times[way][name])
            reference = statistics.median(times[way][REFERENCE[0]])
            row += (
                f" {median:{width}.2f} {statistics.median(memory[way][name]):5.0f}"
                f" {median / reference:8.2f}"
            )
        torch = "" if name == REFERENCE[0] else ("yes" if imports_torch(COMMANDS[name]) else "no")
        print(f"{row} {torch:>6}")


if __name__ == "__main__":
    main()
