"""Answers that only print what the configs say, kept between calls: `--help`, `--cfg job`, TAB.

Composing the config is Hydra's work, and it takes longer than importing
Hydra; a command that only prints the composed config, its help or its
completions gives the same answer until something it reads changes. So a
successful answer is kept, under a key made of the command, its arguments,
the working folder, the environment that shapes the answer (`VAE_EXP_*`,
`HYDRA_*`, `COMP_*`), the Python running it and its import path (`PYTHONPATH`
included), and the size and
modification time of every file of vae-exp, Hydra, OmegaConf, the installed
Hydra plugins and a `--config-dir` (what Python itself checks before it
reuses compiled code). The next identical call prints it without importing
Hydra. Anything else, a failure included, runs as usual and is not kept.

`VAE_EXP_CLI_CACHE` names the folder (default `$XDG_CACHE_HOME/vae-exp/cli`,
else `~/.cache/vae-exp/cli`); `VAE_EXP_CLI_CACHE=off` turns keeping off. The
kept answers are text that is printed, never code that runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from vae_exp.foundation.atomic import write_text

CACHE_VARIABLE = "VAE_EXP_CLI_CACHE"
KEPT_ANSWERS = 512  # the oldest beyond this are removed when one more is kept
_PACKAGES = ("vae_exp", "hydra", "omegaconf", "hydra_plugins")
_ENVIRONMENT_PREFIXES = ("VAE_EXP_", "HYDRA_", "COMP_")
HELP_FLAGS = ("--help", "-h")
_CFG_FLAGS = ("--cfg", "-c")
_COMPLETION_FLAGS = ("--shell-completion", "-sc")
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
# Flags whose answer depends on more than the files and the command line.
_UNKEPT_FLAGS = (
    "--resolve",
    "--info",
    "-i",
    "--config-path",
    "-cp",
    "--run",
    "-r",
    "--experimental-rerun",
)


def cache_folder() -> Path | None:
    """Where answers are kept, or None where keeping them is turned off."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vae-exp" / "cli"


def _flag_value(arguments: Sequence[str], flags: Sequence[str]) -> str | None:
    """The value of the first of `flags` in `arguments` (`--cfg job` or `--cfg=job`)."""
    for position, argument in enumerate(arguments):
        flag, equals, value = argument.partition("=")
        if flag in flags:
            if equals:
                return value
            return arguments[position + 1] if position + 1 < len(arguments) else ""
    return None


def only_prints(arguments: Sequence[str]) -> bool:
    """Whether `arguments` ask for an answer that depends on the configs alone."""
    if any(argument.partition("=")[0] in _UNKEPT_FLAGS for argument in arguments):
        return False
    if any(argument.startswith("hydra.searchpath") for argument in arguments):
        return False
    return (
        any(argument in HELP_FLAGS for argument in arguments)
        or _flag_value(arguments, _CFG_FLAGS) == "job"
        or _flag_value(arguments, _COMPLETION_FLAGS) is not None
    )


def _package_folders() -> list[Path]:
    """The folders of the packages whose files make the answer, found without importing them."""
    folders: list[Path] = []
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(Path(location) for location in spec.submodule_search_locations)
    return folders


def _file_signatures(folder: Path) -> Iterator[str]:
    """Each file's path, size and modification time, in a fixed order."""
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".pyc"):
                continue
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                found = os.stat(path)
                yield f"{path}\0{found.st_size}\0{found.st_mtime_ns}"


def answer_key(command: str, arguments: Sequence[str]) -> str:
    """The key of this call's answer: everything the answer depends on."""
    digest = hashlib.sha256()
    environment = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(_ENVIRONMENT_PREFIXES) and name != CACHE_VARIABLE
    )
    described = {
        "command": command,
        "arguments": list(arguments),
        "cwd": os.getcwd(),
        "environment": environment,
        "python": [sys.executable, sys.version, *sys.path],
    }
    digest.update(json.dumps(described).encode())
    folders = _package_folders()
    config_dir = _flag_value(arguments, CONFIG_DIR_FLAGS)
    if config_dir:
        folders.append(Path(config_dir).absolute())
    for folder in folders:
        digest.update(f"\n{folder}\n".encode())
        for signature in _file_signatures(folder):
            digest.update(signature.encode() + b"\n")
    return digest.hexdigest()


class _Tee(io.TextIOBase):
    """A text stream that writes through to `stream` and keeps a copy."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding


def _replay(path: Path) -> bool:
    """Print a kept answer; False where there is none (or it cannot be read)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        stdout, stderr = kept["stdout"], kept["stderr"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not (isinstance(stdout, str) and isinstance(stderr, str)):
        return False
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    sys.stdout.flush()
    return True


def _keep(folder: Path, path: Path, stdout: str, stderr: str) -> None:
    """Keep one answer, and no more than `KEPT_ANSWERS`; a folder that cannot be written is left."""
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps({"stdout": stdout, "stderr": stderr}))
        kept = sorted(folder.glob("*.json"), key=lambda found: found.stat().st_mtime_ns)
        for old in kept[:-KEPT_ANSWERS]:
            old.unlink(missing_ok=True)


def answer_once(command: str, arguments: Sequence[str], answer: Callable[[], Any]) -> None:
    """Print the kept answer to `arguments`, or run `answer()` and keep what it printed."""
    folder = cache_folder()
    if folder is None or not only_prints(arguments):
        answer()
        return
    path = folder / f"{answer_key(command, arguments)}.json"
    if _replay(path):
        return
    stdout, stderr = _Tee(sys.stdout), _Tee(sys.stderr)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):  # type: ignore[type-var]
        try:
            answer()
        except SystemExit as stop:
            if stop.code not in (None, 0):
                raise
    _keep(folder, path, stdout.copy.getvalue(), stderr.copy.getvalue())
