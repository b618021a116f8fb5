"""Shared fixtures: composed configs, small IDX data sets and the CLI runner."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from omegaconf import DictConfig

import vae_exp
import vae_exp.conf
from vae_exp.data.mnist_files import raw_files_present, raw_folder
from vae_exp.pipeline.resolvers import register_resolvers
from vae_exp.runs.locations import DATA_DIR_ENV, OUTPUT_DIR_ENV, claim_fresh_dir

register_resolvers()

# The packaged configs, and the checkout holding the tests (the data may lie beside it).
CONFIG_DIR = Path(vae_exp.conf.__file__).parent
CHECKOUT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path | None:
    for candidate in (os.environ.get(DATA_DIR_ENV), CHECKOUT.parent / "shared" / "data"):
        if candidate and raw_files_present(candidate):
            return Path(candidate)
    return None


SHARED_DATA_DIR = _shared_data_dir()


@pytest.fixture(autouse=True, scope="session")
def _kept_answers_in_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands run by the tests keep their printed answers here, not in the user's cache."""
    from vae_exp.cli.answers import CACHE_VARIABLE

    before = os.environ.get(CACHE_VARIABLE)
    os.environ[CACHE_VARIABLE] = str(tmp_path_factory.mktemp("cli-answers"))
    yield
    if before is None:
        os.environ.pop(CACHE_VARIABLE, None)
    else:
        os.environ[CACHE_VARIABLE] = before


@pytest.fixture
def shared_data_dir() -> Path:
    """The full MNIST files, if this machine has them."""
    if SHARED_DATA_DIR is None:
        pytest.skip(f"full MNIST not found (set {DATA_DIR_ENV} to a folder with MNIST/raw/)")
    return SHARED_DATA_DIR


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in MNIST's IDX format."""
    magic = 0x0800 + array.ndim
    header = b"".join(int(n).to_bytes(4, "big") for n in (magic, *array.shape))
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_small_mnist(data_dir: Path, data_set: str = "MNIST") -> Path:
    """A tiny MNIST-format set in torchvision's layout: 300 training, 100 test images, ten classes.

    `data_set` is torchvision's folder name: MNIST, FashionMNIST or KMNIST.
    """
    rng = np.random.default_rng(0)
    folder = raw_folder(data_dir, data_set)
    folder.mkdir(parents=True)
    for prefix, n in (("train", 300), ("t10k", 100)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 256, size=(n, 28, 28))
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return data_dir


@pytest.fixture
def small_mnist_dir(tmp_path: Path) -> Path:
    return write_small_mnist(tmp_path / "data")


@pytest.fixture
def compose_train(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose the training config with overrides (the public API), its run folder in tmp_path."""

    def _compose(*overrides: str) -> DictConfig:
        return vae_exp.compose([f"paths.run_dir={claim_fresh_dir(tmp_path / 'run')}", *overrides])

    return _compose


TINY_RUN = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
)


def train_tiny(compose_train, data_dir: Path, *overrides: str) -> tuple[dict, Path]:
    """A tiny run through the Python API: its record and its folder."""
    cfg = compose_train(f"data.data_dir={data_dir}", *TINY_RUN, *overrides)
    return vae_exp.fit(cfg), Path(cfg.paths.run_dir)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> tuple[Path, dict]:
    """A two-epoch tiny run with every callback, logging to TensorBoard and CSV.

    Returns the run folder, and its record and TensorBoard events (every image and scalar).
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = tmp_path_factory.mktemp("trained_run")
    data_dir = write_small_mnist(root / "data")
    run_dir = root / "run"
    cfg = vae_exp.compose(
        [
            f"paths.run_dir={run_dir}",
            f"data.data_dir={data_dir}",
            *TINY_RUN,
            "trainer.max_epochs=2",
            "callbacks.latent_grid.grids=[[1,2],[0,3]]",
            "callbacks.latent_traversal.base=3",
            "logger=[tensorboard,csv]",
        ]
    )
    record = vae_exp.fit(cfg)
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return run_dir, {"record": record, "events": events}


# Any download attempt fails at once, with or without a network.
_NO_NETWORK = {
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "no_proxy": "127.0.0.1,localhost",  # servers that a test starts itself
}


def ctrl_c_delivered() -> None:
    """In a test's child process: SIGINT interrupts, as a terminal's Ctrl-C does.

    A shell starts background commands with SIGINT ignored and their children
    inherit that, so a suite run in the background would send its SIGINTs into
    the void; the interrupt tests pass this as `preexec_fn`.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m vae_exp.train` in a subprocess with outputs under tmp_path/outputs."""

    def _run(
        *overrides: str,
        data_dir: Path | None = None,
        background: bool = False,
        env: dict[str, str] | None = None,
    ):
        env = {
            **os.environ,
            **_NO_NETWORK,
            OUTPUT_DIR_ENV: str(tmp_path / "outputs"),
            DATA_DIR_ENV: str(data_dir or tmp_path / "no_data"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        command = [sys.executable, "-m", "vae_exp.train", *overrides]
        kwargs = dict(cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if background:
            return subprocess.Popen(command, text=True, preexec_fn=ctrl_c_delivered, **kwargs)
        return subprocess.run(command, text=True, timeout=300, **kwargs)

    return _run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """A server a test started: its address and its process group (to fault it with signals)."""

    url: str
    group: int


@pytest.fixture
def mlflow_server(mlflow_service: Server) -> str:
    """The address of a real MLflow tracking server on 127.0.0.1."""
    return mlflow_service.url


@pytest.fixture
def mlflow_service(tmp_path: Path) -> Iterator[Server]:
    """A real MLflow tracking server on 127.0.0.1 with an SQLite store; stopped afterwards."""
    port = free_port()
    folder = tmp_path / "mlflow_server"
    folder.mkdir()
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--backend-store-uri", f"sqlite:///{folder}/mlflow.db"),
        *("--artifacts-destination", str(folder / "artifacts"), "--workers", "1"),
    ]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (folder / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the MLflow server did not start"
            time.sleep(0.5)
        yield Server(url, os.getpgid(server.pid))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGCONT)  # a test may have stopped it
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


# Tests that run vae-exp's commands, the benchmark scripts or a tracking server in fresh processes,
# as users do: each pays the start-up of PyTorch and Lightning, so they make up the slow tier.
SLOW_FOLDERS = ("commands", "benchmarks")
SLOW_FIXTURES = ("run_cli", "mlflow_server", "mlflow_service")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = Path(str(item.path)).resolve().parent
        in_slow_folder = folder.parent == tests and folder.name in SLOW_FOLDERS
        if in_slow_folder or set(SLOW_FIXTURES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
