"""A trained run's encoder and decoder as files other programs run: ONNX or TorchScript.

`vae-exp-export run=RUN format=onnx|torchscript` writes, into a fresh folder
(`<run>/exports/<format>`, then `<format>-2`, ...; never over an earlier export):

- `encoder.onnx` / `encoder.pt`: images (batch, C, H, W) in [0, 1] -> z_mean, log_var
  (batch, latent_dim), the posterior's mean and log-variance;
- `decoder.onnx` / `decoder.pt`: z (batch, latent_dim) -> images (batch, C, H, W), the
  expected image under the run's likelihood, in [0, 1];
- for a conditional run, both take `labels` too: class numbers (batch,), int64;
- `export.json`: what the files hold, their input and output names and shapes, the
  latent size, image shape, likelihood and classes, and the largest difference from
  the PyTorch model found when the files were checked after writing.

Each file is checked before the folder is kept: run on random inputs (by
onnxruntime, or `torch.jit.load`), it must match the PyTorch model to 1e-5.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vae_exp import __version__
from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.foundation.values import require_choice
from vae_exp.models import VAE
from vae_exp.runs.loaded_run import Run, load_run
from vae_exp.runs.locations import absolute, writable_folder

log = logging.getLogger(__name__)
FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
EXPORTS_DIR = "exports"
EXPORT_FILE = "export.json"
TOLERANCE = 1e-5
ONNX_OPSET = 18
_EXPORTER_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx", "torch.export", "torch._dynamo")
_CHECK_BATCH = 3  # the files are checked at a batch size other than the one they were traced at


class _Encoder(nn.Module):
    """images -> (z_mean, log_var): the run's encoder alone."""

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.encoder = vae.encoder
        self.register_buffer("classes", torch.tensor(list(vae.classes or [0])))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_mean, log_var = self.encoder(images)
        return z_mean.float(), log_var.float()


class _Decoder(nn.Module):
    """z -> the expected images under the run's likelihood."""

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.decoder = vae.decoder
        self.likelihood = vae.likelihood
        self.register_buffer("classes", torch.tensor(list(vae.classes or [0])))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.decoder(z).float())


def _one_hot(labels: torch.Tensor, classes: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Class numbers as one-hot rows, inside the file, so that a caller passes the numbers."""
    return (labels[:, None] == classes[None, :]).to(like.dtype)


class _ConditionalEncoder(_Encoder):
    """(images, labels) -> (z_mean, log_var)."""

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        z_mean, log_var = self.encoder(images, _one_hot(labels, self.classes, images))
        return z_mean.float(), log_var.float()


class _ConditionalDecoder(_Decoder):
    """(z, labels) -> the expected images."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.decoder(z, _one_hot(labels, self.classes, z)).float())


@dataclass(frozen=True)
class Part:
    """One exported network: its module, names, example inputs and shapes."""

    name: str
    module: nn.Module
    inputs: dict[str, torch.Tensor]  # name -> an example, batch first
    outputs: tuple[str, ...]
    shapes: dict[str, list[int | str]]  # every input's and output's shape, "batch" first
    dtypes: dict[str, str]


def _example_labels(vae: VAE, batch: int) -> torch.Tensor:
    return torch.tensor([vae.classes[i % len(vae.classes)] for i in range(batch)])


def export_parts(vae: VAE, image_shape: Sequence[int], batch: int = 2) -> list[Part]:
    """The encoder and decoder of `vae` as modules with named inputs and outputs."""
    latent = int(vae.latent_dim)
    shape = list(image_shape)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((batch, *shape), generator=generator)
    z = torch.randn((batch, latent), generator=generator)
    encoder = (_ConditionalEncoder if vae.conditional else _Encoder)(vae)
    decoder = (_ConditionalDecoder if vae.conditional else _Decoder)(vae)
    encoder_inputs: dict[str, torch.Tensor] = {"images": images}
    decoder_inputs: dict[str, torch.Tensor] = {"z": z}
    dtypes = {"images": "float32", "z": "float32", "z_mean": "float32", "log_var": "float32"}
    if vae.conditional:
        encoder_inputs["labels"] = decoder_inputs["labels"] = _example_labels(vae, batch)
        dtypes["labels"] = "int64"
    shapes: dict[str, list[int | str]] = {
        "images": ["batch", *shape],
        "z": ["batch", latent],
        "z_mean": ["batch", latent],
        "log_var": ["batch", latent],
        "labels": ["batch"],
    }
    return [
        Part("encoder", encoder.eval(), encoder_inputs, ("z_mean", "log_var"), shapes, dtypes),
        Part("decoder", decoder.eval(), decoder_inputs, ("images",), shapes, dtypes),
    ]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REASON_LENGTH = 200


def _reason(error: BaseException) -> str:
    """The first line of the deepest cause: what the exporter met, not where it gave up."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    return reason if len(reason) <= _REASON_LENGTH else reason[: _REASON_LENGTH - 3] + "..."


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporters' progress lines, logs and warnings stay out of the command's output."""
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _write_onnx(part: Part, path: Path) -> None:
    batch = torch.export.Dim("batch")
    dynamic = {name: {0: batch} for name in part.inputs}
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            part.module,
            tuple(part.inputs.values()),
            str(path),
            input_names=list(part.inputs),
            output_names=list(part.outputs),
            dynamic_shapes=dynamic,
            opset_version=ONNX_OPSET,
            dynamo=True,
            external_data=False,
        )


def _write_torchscript(part: Part, path: Path) -> None:
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(part.module, tuple(part.inputs.values()), check_trace=False)
        torch.jit.save(traced, str(path))


def _onnx_runner(path: Path) -> Callable[[dict[str, torch.Tensor]], list[torch.Tensor]]:
    try:
        import onnxruntime
    except ImportError:
        raise UserError(
            "format=onnx checks each file with onnxruntime, which is not installed: "
            "pip install 'vae-exp[export]'"
        ) from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(inputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        feeds = {name: value.numpy() for name, value in inputs.items()}
        return [torch.from_numpy(value) for value in session.run(None, feeds)]

    return run


def _torchscript_runner(path: Path) -> Callable[[dict[str, torch.Tensor]], list[torch.Tensor]]:
    with _quiet():
        loaded = torch.jit.load(str(path))

    def run(inputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        with torch.no_grad():
            outputs = loaded(*inputs.values())
        return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]

    return run


WRITERS = {"onnx": _write_onnx, "torchscript": _write_torchscript}
RUNNERS = {"onnx": _onnx_runner, "torchscript": _torchscript_runner}


def difference_from_model(part: Part, runner: Callable, batch: int = _CHECK_BATCH) -> float:
    """The largest absolute difference between a written file and the PyTorch module."""
    generator = torch.Generator().manual_seed(1)
    inputs = {}
    for name, example in part.inputs.items():
        if example.dtype == torch.int64:
            inputs[name] = example.repeat(batch)[:batch]
        elif name == "images":
            inputs[name] = torch.rand((batch, *example.shape[1:]), generator=generator)
        else:
            inputs[name] = torch.randn((batch, *example.shape[1:]), generator=generator)
    with torch.no_grad():
        expected = part.module(*inputs.values())
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    found = runner(inputs)
    return max(float((e - f).abs().max()) for e, f in zip(expected, found, strict=True))


def keep_as_fresh_folder(staging: Path, parent: Path, fmt: str) -> Path:
    """Rename the finished `staging` folder to `parent/<format>` or the first free `-2`, `-3`...

    A rename never replaces a folder that holds files, so two exports at once
    each keep their own, and a stopped export leaves no half folder under a name.
    """
    n = 1
    while True:
        candidate = parent / (fmt if n == 1 else f"{fmt}-{n}")
        if not candidate.exists():
            try:
                staging.rename(candidate)
                return candidate
            except OSError as error:
                if not candidate.exists():
                    raise UserError(f"cannot write the export into {parent}: {error}") from None
        n += 1


def _tensor(part: Part, name: str) -> dict[str, Any]:
    return {"name": name, "shape": part.shapes[name], "dtype": part.dtypes[name]}


def _describe(part: Part, fmt: str, difference: float) -> dict[str, Any]:
    return {
        "file": part.name + SUFFIXES[fmt],
        "inputs": [_tensor(part, name) for name in part.inputs],
        "outputs": [_tensor(part, name) for name in part.outputs],
        "max_abs_difference_from_pytorch": difference,
    }


def export(run: Run | str | Path, format: str = "onnx", out: str | Path | None = None) -> Path:
    """Write `run`'s encoder and decoder in `format` into a fresh folder; return that folder.

    Args:
        run: a `Run` (`vae_exp.load_run`), a run folder (its best checkpoint) or a checkpoint.
        format: `onnx` (needs the `[export]` extra) or `torchscript`.
        out: the folder the export folder goes into; None: the run's `exports/`.

    Raises UserError with one line, leaving no folder behind, for a format that
    is not offered, a network that cannot be exported, or files that do not
    match the PyTorch model.
    """
    fmt = require_choice("format", format, FORMATS)
    if not isinstance(run, Run):
        run = load_run(absolute(run))
    parent = writable_folder("out", Path(absolute(out)) if out else run.folder / EXPORTS_DIR)
    vae = run.model.float().to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        label = vae.classes[0] if vae.conditional else None
        probe = vae.decode(torch.zeros(1, vae.latent_dim), label)
    image_shape = list(probe.shape[1:])
    parts = export_parts(vae, image_shape)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=".export-"))
    try:
        written = {}
        for part in parts:
            path = staging / (part.name + SUFFIXES[fmt])
            network = type(getattr(vae, part.name)).__name__
            try:
                WRITERS[fmt](part, path)
                difference = difference_from_model(part, RUNNERS[fmt](path))
            except UserError:
                raise
            except Exception as error:  # any exporter's refusal, in its own first line
                raise ConfigError(
                    "format",
                    fmt,
                    f"a format the run's {part.name} ({network}) can be written in; "
                    f"it cannot: {_reason(error)}",
                ) from None
            if not difference <= TOLERANCE:
                raise UserError(
                    f"the {fmt} {part.name} ({network}) differs from the PyTorch model by "
                    f"{difference:.2e} (more than {TOLERANCE:g}), so it is not written"
                )
            written[part.name] = _describe(part, fmt, difference)
        record = {
            "format": fmt,
            "vae_exp_version": __version__,
            "torch_version": torch.__version__,
            "opset": ONNX_OPSET if fmt == "onnx" else None,
            "run": run.folder.name,
            "checkpoint": run.checkpoint.name,
            "latent_dim": int(vae.latent_dim),
            "image_shape": image_shape,
            "likelihood": type(vae.likelihood).__name__,
            "decoder_output": (
                "images: the expected image under the likelihood "
                f"({type(vae.likelihood).__name__}), (batch, C, H, W), values in [0, 1]"
            ),
            "encoder_output": "z_mean, log_var: the posterior's mean and log-variance",
            "conditional": bool(vae.conditional),
            "classes": list(vae.classes) if vae.conditional else None,
            "tolerance": TOLERANCE,
            **written,
        }
        (staging / EXPORT_FILE).write_text(json.dumps(record, indent=2) + "\n")
        return keep_as_fresh_folder(staging, parent, fmt)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
