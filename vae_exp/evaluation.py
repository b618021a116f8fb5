"""Evaluating a trained run: `vae_exp.evaluate(run, ...)` and `vae-exp-evaluate run=<run>`.

On the run's digits of the chosen split (by default the test split, or the
validation split of a data source that has no test split): the reference loss and its terms,
-ELBO (nats per image), an importance-sampled estimate of -log p(x) with its
standard error, per-dimension KL, active units, and all of it per digit; and
how well the latent means separate the classes (a linear probe and k nearest
neighbours fitted on the training split). The likelihood is the run's own;
binarised runs are scored on the fixed binary draw of the split. The images
come from the run's own data module, built from its saved config. The command
prints a table and writes evaluation.json into the run folder.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from vae_exp.analysis.likelihood import IMPORTANCE_CHUNK, importance_sampled_log_likelihood
from vae_exp.analysis.probes import knn_accuracy, linear_probe_accuracy
from vae_exp.analysis.statistics import active_units, mean_kl_per_dimension
from vae_exp.data.binarization import EVALUATION_SEED, binarized
from vae_exp.data.contract import (
    SPLITS,
    binarization,
    check_data_module,
    class_names,
    count_images,
    labelled_batches,
    source_of,
    split_loader,
)
from vae_exp.foundation import atomic
from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.foundation.resources import require_decodable
from vae_exp.foundation.trust import check_targets
from vae_exp.foundation.values import require_choice, require_int
from vae_exp.models import VAE
from vae_exp.models.metrics import TERMS
from vae_exp.pipeline.building import build
from vae_exp.runs.checkpoints import resolve_run_folder
from vae_exp.runs.layout import EVALUATION_FILE
from vae_exp.runs.loaded_run import Run, load_run
from vae_exp.runs.locations import (
    absolute,
    default_data_dir,
    fresh_file,
    require_file_name,
    writable_folder,
)

log = logging.getLogger(__name__)
SPLIT_CHOICES = ("auto", *SPLITS)
PER_IMAGE = (*TERMS, "nll")


def choose_split(datamodule: Any, split: str) -> tuple[str, Iterable]:
    """The split to evaluate and its loader; `auto` is the test split where the data have one."""
    if split in ("auto", "test"):
        datamodule.setup("test")
    loader = None
    if split == "auto":
        loader = split_loader(datamodule, "test")
        split = "test" if loader is not None else "val"
    loader = loader or split_loader(datamodule, split)
    if loader is None:
        source = source_of(datamodule) or type(datamodule).__name__
        raise ConfigError("split", split, f"val or train: the {source} data set has no test split")
    return split, loader


def per_image_figures(
    model: VAE,
    x: torch.Tensor,
    labels: torch.Tensor,
    num_samples: int,
    generator: torch.Generator,
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Each image's loss terms and -log p(x) estimate, and its posterior mean and log-variance.

    A conditional VAE reads the labels: its estimate is -log p(x | y).
    """
    terms, z_mean, log_var = model.per_image_terms(x, labels)
    log_px = importance_sampled_log_likelihood(
        x,
        z_mean,
        log_var,
        lambda images, z: model.log_likelihood(images, z, labels),
        num_samples,
        generator=generator,
    )
    values = {name: getattr(terms, name) for name in TERMS}
    return {**values, "nll": -log_px}, z_mean, log_var


def latent_means(model: VAE, batches: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """The posterior means of every (images, labels) batch, and the labels."""
    means, labels = [], []
    with torch.no_grad():
        for images, batch_labels in batches:
            means.append(model.encode(images, batch_labels)[0])
            labels.append(batch_labels)
    return torch.cat(means), torch.cat(labels)


def class_separation(
    model: VAE,
    datamodule: Any,
    z_mean: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
) -> dict[str, float | None]:
    """Linear-probe and k-NN accuracy on the evaluated split, fitted on the training split."""
    batches = labelled_batches(split_loader(datamodule, "train"), batch_size)
    if binarization(datamodule) != "none":  # encode binary images, as in training
        batches = ((binarized(x, EVALUATION_SEED), y) for x, y in batches)
    train_z, train_labels = latent_means(model, batches)
    if len(torch.unique(train_labels)) < 2:
        return {"linear_probe_accuracy": None, "knn_accuracy": None}  # one class: nothing to tell
    return {
        "linear_probe_accuracy": linear_probe_accuracy(train_z, train_labels, z_mean, labels),
        "knn_accuracy": knn_accuracy(train_z, train_labels, z_mean, labels),
    }


def dequantized(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """8-bit images in [0, 1] as uniformly dequantised values (level + u) / 256, u ~ U[0, 1)."""
    levels = (images * 255).round()
    return (levels + torch.rand(images.shape, generator=generator)) / 256


DISCRETE_CONVENTION = "a discrete likelihood: the images as they are, no log 256 term"
DENSITY_CONVENTION = "uniform dequantisation (level + u) / 256 and the D log 256 term"


def dequantized_bits_per_dim(
    model: VAE, batches: Iterable, num_samples: int, generator: torch.Generator
) -> float:
    """-log2 P(x) per dimension of 8-bit images under a density on [0, 1].

    The images are uniformly dequantised, and D log 256 turns the density on
    [0, 1] into probabilities of the 256 levels:
    bits/dim = (-log p(y) + D log 256) / (D log 2).
    """
    total, images, dims = 0.0, 0, 1
    with torch.no_grad():
        for x, labels in batches:
            y = dequantized(x, generator)
            z_mean, log_var = model.encode(y, labels)
            log_py = importance_sampled_log_likelihood(
                y,
                z_mean,
                log_var,
                lambda images, z, labels=labels: model.log_likelihood(images, z, labels),
                num_samples,
                generator=generator,
            )
            total -= log_py.sum().item()
            images, dims = images + len(x), math.prod(x.shape[1:])
    return (total / max(images, 1) + dims * math.log(256)) / (dims * math.log(2))


def _mean_and_error(values: torch.Tensor) -> dict[str, float]:
    n = len(values)
    error = values.std().item() / math.sqrt(n) if n > 1 else math.nan
    return {"mean": values.mean().item(), "stderr": error}


def evaluate(
    run: Run | str | Path,
    split: str = "auto",
    num_samples: int = 200,
    batch_size: int = 32,
    seed: int = 0,
    probes: bool = True,
    data_dir: str | Path | None = None,
) -> dict[str, Any]:
    """The figures of a trained run on one split of its data, as `evaluation.json` holds them.

    Args:
        run: a `Run` (`vae_exp.load_run`), a run folder (its best checkpoint) or a checkpoint.
        split: `auto` (test where the data have a test split, else val), test, val or train.
        num_samples: K, the importance samples per image for -log p(x).
        batch_size: images at once.
        seed: seeds every sample drawn, so that results repeat.
        probes: also a linear probe and 5-NN on the latent means, fitted on the train split.
        data_dir: where the data are, if not where the run found them.

    Writes nothing; raises `UserError` naming the setting before any work.
    """
    require_choice("split", split, SPLIT_CHOICES)
    require_int("num_samples", num_samples, minimum=1)
    require_int("batch_size", batch_size, minimum=1)
    require_int("seed", seed, minimum=0)
    require_choice("probes", probes, (True, False))
    if not isinstance(run, Run):
        run = load_run(absolute(run))
    if run.config is None:
        raise UserError(f"run={run.folder} has no config.yaml, so its data set is unknown")
    model, run_dir, checkpoint = run.model, run.folder, run.checkpoint
    datamodule = run_data_module(run.config, run.folder, data_dir)
    image_shape = check_data_module(datamodule)
    split, loader = choose_split(datamodule, split)
    images_at_once = min(batch_size, count_images(loader))
    samples_at_once = min(num_samples, IMPORTANCE_CHUNK)
    require_decodable("batch_size", batch_size, images_at_once * samples_at_once, image_shape)

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    columns: dict[str, list[torch.Tensor]] = defaultdict(list)
    with torch.no_grad():
        for x, labels in labelled_batches(loader, batch_size):
            figures, z_mean, log_var = per_image_figures(model, x, labels, num_samples, generator)
            for name, values in {
                **figures,
                "z_mean": z_mean,
                "log_var": log_var,
                "label": labels,
            }.items():
                columns[name].append(values)
    table = {name: torch.cat(values) for name, values in columns.items()}
    settings = {"num_samples": num_samples, "seed": seed}
    result = _summary(settings, split, run_dir, checkpoint, datamodule, table)
    result["bits_per_dim"] = _bits_per_dim(
        model,
        result["nll"]["mean"],
        image_shape,
        labelled_batches(loader, batch_size),
        num_samples,
        seed,
    )
    if probes:
        result.update(
            class_separation(model, datamodule, table["z_mean"], table["label"], batch_size)
        )
    return result


def _bits_per_dim(
    model: VAE,
    nll: float,
    image_shape: tuple[int, ...],
    batches: Iterable,
    num_samples: int,
    seed: int,
) -> dict[str, Any]:
    """Bits per dimension, with the convention that fits the run's likelihood.

    A discrete likelihood (Bernoulli) gives them from -log p(x) itself; a density
    (Gaussian, continuous Bernoulli) needs a second pass on dequantised images.
    """
    if not getattr(model.likelihood, "is_density", False):
        value = nll / (math.prod(image_shape) * math.log(2))
        return {"value": value, "convention": DISCRETE_CONVENTION}
    generator = torch.Generator().manual_seed(seed + 1)
    value = dequantized_bits_per_dim(model, batches, num_samples, generator)
    return {"value": value, "convention": DENSITY_CONVENTION}


def run_data_module(config: DictConfig, run_dir: Path, data_dir: str | Path | None = None) -> Any:
    """The run's own data module, built from its saved config (`data_dir` replacing its folder).

    The saved config is a received file: its `_target_`s are checked before anything is built.
    """
    check_targets(config, received_from=run_dir)
    data = copy.deepcopy(config.data)
    if data_dir:
        OmegaConf.update(data, "data_dir", absolute(data_dir), force_add=True)
    if "cache_dir" in data:  # a received config names no place to write: the cache is this user's
        own = Path(absolute(data_dir)) if data_dir else Path(default_data_dir())
        OmegaConf.update(data, "cache_dir", str(own / "cache"))
    return build(data, "data")


def _summary(
    settings: dict[str, int],
    split: str,
    run_dir: Path,
    checkpoint: Path,
    datamodule: Any,
    table: dict[str, torch.Tensor],
) -> dict[str, Any]:
    labels = table["label"]
    per_digit = {}
    for digit in sorted(set(labels.tolist())):
        chosen = labels == digit
        per_digit[str(digit)] = {
            "images": int(chosen.sum()),
            **{name: table[name][chosen].mean().item() for name in PER_IMAGE},
        }
    return {
        "run": str(run_dir),
        "checkpoint": str(
            checkpoint.relative_to(run_dir) if checkpoint.is_relative_to(run_dir) else checkpoint
        ),
        "split": split,
        "data_source": source_of(datamodule),
        "images": len(labels),
        **settings,
        **{name: _mean_and_error(table[name]) for name in PER_IMAGE},
        "kl_per_dimension": mean_kl_per_dimension(table["z_mean"], table["log_var"]).tolist(),
        "active_units": active_units(table["z_mean"]),
        "per_digit": per_digit,
        "class_names": {str(number): name for number, name in class_names(datamodule).items()},
    }


def format_table(result: dict[str, Any]) -> str:
    """The figures as a small text table."""
    names = {
        "loss": "loss (reference)",
        "recon": "recon",
        "kl": "kl (reference)",
        "neg_elbo": "-ELBO (nats)",
        "nll": f"-log p(x), K={result['num_samples']} (nats)",
    }
    lines = [
        f"{result['split']} split, {result['images']} images ({result['data_source']} data):",
        f"  {'':34}{'mean':>12}{'std. error':>12}",
    ]
    for key, label in names.items():
        lines.append(f"  {label:34}{result[key]['mean']:12.4f}{result[key]['stderr']:12.4f}")
    kl = ", ".join(f"{v:.3f}" for v in result["kl_per_dimension"])
    lines.append(f"  KL per dimension (nats): {kl}")
    lines.append(f"  active units: {result['active_units']} of {len(result['kl_per_dimension'])}")
    if "bits_per_dim" in result:
        bits = result["bits_per_dim"]
        lines.append(f"  bits per dimension: {bits['value']:.4f} ({bits['convention']})")
    for key, label in (("linear_probe_accuracy", "linear probe"), ("knn_accuracy", "5-NN")):
        if result.get(key) is not None:
            lines.append(f"  {label} accuracy on the latent means: {result[key]:.4f}")
    label_of = result.get("class_names") or {}
    width = max([8, *(len(name) + 2 for name in label_of.values())])
    lines.append(f"  {'class':{width}}{'images':>8}{'loss':>10}{'-ELBO':>10}{'-log p(x)':>11}")
    for digit, row in result["per_digit"].items():
        lines.append(
            f"  {label_of.get(digit, digit):{width}}{row['images']:8d}{row['loss']:10.4f}"
            f"{row['neg_elbo']:10.2f}{row['nll']:11.2f}"
        )
    return "\n".join(lines)


def output_file(run: str | Path, out: str | Path | None = None) -> Path:
    """Where the figures will be written (`out`, else the run's evaluation.json), checked first."""
    run_dir = resolve_run_folder(run)
    path = Path(absolute(out)) if out else run_dir / EVALUATION_FILE
    writable_folder("out", path.parent)
    return require_file_name("out", path)


def write_result(result: dict[str, Any], out: Path) -> Path:
    """`result` as JSON at `out`, or beside it (`-2`, `-3`...): an earlier one is never replaced."""
    return atomic.write_text(fresh_file(out), json.dumps(result, indent=2) + "\n")
