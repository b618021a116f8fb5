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
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import TensorDataset

from vae_exp.analysis.likelihood import IMPORTANCE_CHUNK, importance_sampled_log_likelihood
from vae_exp.analysis.probes import knn_accuracy, linear_probe_accuracy
from vae_exp.analysis.statistics import active_units, mean_kl_per_dimension
from vae_exp.data.binarization import EVALUATION_SEED, binarized
from vae_exp.data.datamodule import SPLITS
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
from vae_exp.runs.locations import absolute, fresh_file, require_file_name, writable_folder

log = logging.getLogger(__name__)
SPLIT_CHOICES = ("auto", *SPLITS)
PER_IMAGE = (*TERMS, "nll")


def choose_split(datamodule: Any, split: str) -> tuple[str, TensorDataset]:
    """The split to evaluate and its images; `auto` is the test split where the data have one."""
    if split == "auto":
        split = "test" if datamodule.split("test") is not None else "val"
    dataset = datamodule.split(split)
    if dataset is None:
        raise ConfigError(
            "split", split, f"val or train: the {datamodule.source_used} data set has no test split"
        )
    return split, dataset


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


def latent_means(
    model: VAE, images: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """The posterior means of `images` (of classes `labels`), in batches."""
    with torch.no_grad():
        return torch.cat(
            [
                model.encode(images[i : i + batch_size], labels[i : i + batch_size])[0]
                for i in range(0, len(images), batch_size)
            ]
        )


def class_separation(
    model: VAE,
    datamodule: Any,
    z_mean: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
) -> dict[str, float | None]:
    """Linear-probe and k-NN accuracy on the evaluated split, fitted on the training split."""
    train_images, train_labels = datamodule.split("train").tensors
    if len(torch.unique(train_labels)) < 2:
        return {"linear_probe_accuracy": None, "knn_accuracy": None}  # one class: nothing to tell
    if datamodule.binarize != "none":  # encode binary images, as in training
        train_images = binarized(train_images, EVALUATION_SEED)
    train_z = latent_means(model, train_images, train_labels, batch_size)
    return {
        "linear_probe_accuracy": linear_probe_accuracy(train_z, train_labels, z_mean, labels),
        "knn_accuracy": knn_accuracy(train_z, train_labels, z_mean, labels),
    }


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
    split, dataset = choose_split(datamodule, split)
    images_at_once = min(batch_size, len(dataset))
    samples_at_once = min(num_samples, IMPORTANCE_CHUNK)
    image_shape = tuple(dataset.tensors[0].shape[1:])
    require_decodable("batch_size", batch_size, images_at_once * samples_at_once, image_shape)

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    columns: dict[str, list[torch.Tensor]] = defaultdict(list)
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            x, labels = (t[start : start + batch_size] for t in dataset.tensors)
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
    if probes:
        result.update(
            class_separation(model, datamodule, table["z_mean"], table["label"], batch_size)
        )
    return result


def run_data_module(config: DictConfig, run_dir: Path, data_dir: str | Path | None = None) -> Any:
    """The run's own data module, built from its saved config (`data_dir` replacing its folder).

    The saved config is a received file: its `_target_`s are checked before anything is built.
    """
    check_targets(config, received_from=run_dir)
    data = copy.deepcopy(config.data)
    if data_dir:
        OmegaConf.update(data, "data_dir", absolute(data_dir), force_add=True)
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
        "data_source": datamodule.source_used,
        "images": len(labels),
        **settings,
        **{name: _mean_and_error(table[name]) for name in PER_IMAGE},
        "kl_per_dimension": mean_kl_per_dimension(table["z_mean"], table["log_var"]).tolist(),
        "active_units": active_units(table["z_mean"]),
        "per_digit": per_digit,
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
    for key, label in (("linear_probe_accuracy", "linear probe"), ("knn_accuracy", "5-NN")):
        if result.get(key) is not None:
            lines.append(f"  {label} accuracy on the latent means: {result[key]:.4f}")
    lines.append(f"  {'digit':8}{'images':>8}{'loss':>10}{'-ELBO':>10}{'-log p(x)':>11}")
    for digit, row in result["per_digit"].items():
        lines.append(
            f"  {digit:8}{row['images']:8d}{row['loss']:10.4f}"
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
