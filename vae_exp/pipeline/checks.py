"""Checks a composed training config before anything is built.

Lightning and PyTorch would reject most bad values too, but late (after data
loading) and with messages about their own internals. These checks name the
public setting, the value and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig

from vae_exp.data.contract import class_numbers
from vae_exp.foundation.errors import ConfigError
from vae_exp.foundation.resources import require_decodable
from vae_exp.foundation.values import is_int, plain, require_choice, require_int, require_number
from vae_exp.loggers.adapters import check_loggers
from vae_exp.models.initialization import check_init
from vae_exp.models.likelihoods import check_sigma
from vae_exp.models.reparameterization import REPARAMETERIZATIONS
from vae_exp.pipeline.building import build

# Above this the KL term alone overflows float32 (it is of order 1 to 100 per image).
MAX_KL_WEIGHT = 1e6
PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "64")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


def check_train_config(cfg: DictConfig, on_this_machine: bool = True) -> None:
    """Raise ConfigError for the first setting of `cfg` that cannot work.

    `on_this_machine` also refuses an accelerator this machine lacks; without it
    a config meant for another machine (a GPU cluster, say) can be checked.
    """
    _check_digits(cfg.digits)
    require_int("latent_dim", cfg.latent_dim, minimum=1)
    require_number("kl_weight", cfg.kl_weight, minimum=0.0, maximum=MAX_KL_WEIGHT)
    require_int("seed", cfg.seed, minimum=0)
    require_choice("model.reparameterization", cfg.model.reparameterization, REPARAMETERIZATIONS)
    check_model_choices(cfg)
    require_number("optimizer.lr", cfg.optimizer.lr, minimum=0.0, strict=True)
    check_trainer(cfg.trainer)
    if on_this_machine:
        check_accelerator(cfg.trainer.get("accelerator", "auto"))
    check_folders(cfg.paths.output_root, cfg.data.get("data_dir", cfg.paths.data_dir))
    check_loggers(cfg.get("logger"))
    build(cfg.data, "data")  # each data module checks its own settings as it is made


def check_conditional_data(conditional: bool, datamodule: Any) -> None:
    """A conditional VAE needs labelled data that say their classes."""
    if conditional and class_numbers(datamodule) is None:
        name = type(datamodule).__name__
        raise ConfigError("conditional", True, f"false: {name} names no classes (`classes`)")


def check_model_choices(cfg: DictConfig) -> None:
    """The settings of the chosen network, likelihood and objective, and the KL warm-up."""
    network = cfg.get("network") or {}
    if "hidden" in network:
        hidden = network.hidden
        sizes = list(hidden) if isinstance(hidden, (list, ListConfig)) else []
        if not sizes or not all(is_int(h) and h >= 1 for h in sizes):
            allowed = "a non-empty list of layer sizes >= 1, e.g. network.hidden=[400]"
            raise ConfigError("network.hidden", plain(hidden), allowed)
    if network.get("image_shape") is not None:  # null: the data's shape
        shape = network.image_shape
        if not (isinstance(shape, (list, ListConfig)) and len(shape) == 3):
            raise ConfigError("network.image_shape", plain(shape), "[channels, height, width]")
        if not all(is_int(n) and n >= 1 for n in shape):
            raise ConfigError("network.image_shape", plain(shape), "three sizes >= 1")
    if "init" in network:
        check_init(network.init)
    likelihood = cfg.get("likelihood") or {}
    if "sigma" in likelihood:
        check_sigma(likelihood.sigma, "likelihood.sigma")
    objective = cfg.get("objective") or {}
    if "samples" in objective:
        require_int("objective.samples", objective.samples, minimum=1)
    require_choice("conditional", cfg.get("conditional", False), (True, False))
    warmup = require_int("kl_warmup_epochs", cfg.get("kl_warmup_epochs", 0), minimum=0)
    if warmup and "kl_weight" not in objective:
        name = str(objective.get("_target_", "")).rsplit(".", 1)[-1] or "this objective"
        allowed = f"0 with objective={name.lower()}, which has no KL weight to warm up"
        raise ConfigError("kl_warmup_epochs", warmup, allowed)


def check_image_shape(network: DictConfig, data_shape: tuple[int, ...]) -> None:
    """Refuse a network built for images of another shape than the data's."""
    shape = network.get("image_shape")
    if shape is not None and tuple(shape) != tuple(data_shape):
        allowed = f"the data's image shape, {list(data_shape)}"
        raise ConfigError("network.image_shape", plain(shape), allowed)


def check_batch_sizes(
    data: DictConfig, train_images: int, val_images: int, image_shape: tuple[int, ...]
) -> None:
    """Refuse a batch larger than the training set, or batches whose steps cannot fit in memory.

    A validation batch larger than the validation set is simply the whole set. A
    data module of your own without a `batch_size` setting is taken as it is.
    """
    batch_size = data.get("batch_size")
    if batch_size is None:
        return
    if batch_size > train_images:
        allowed = f"at most the training set's {train_images} images"
        raise ConfigError("data.batch_size", batch_size, allowed)
    require_decodable("data.batch_size", batch_size, batch_size, image_shape, training=True)
    if "eval_batch_size" in data:
        validated = min(data.eval_batch_size, val_images)
        require_decodable("data.eval_batch_size", data.eval_batch_size, validated, image_shape)


def check_trainer(trainer: DictConfig) -> None:
    """The Trainer settings that decide whether a run can train at all."""
    require_int("trainer.max_epochs", trainer.max_epochs, minimum=1)
    for name in ("limit_train_batches", "limit_val_batches"):
        _check_batch_limit(f"trainer.{name}", trainer.get(name))
    require_int("trainer.log_every_n_steps", trainer.get("log_every_n_steps", 50), minimum=1)
    require_choice("trainer.precision", str(trainer.get("precision", "32-true")), PRECISIONS)
    require_choice("trainer.accelerator", trainer.get("accelerator", "auto"), ACCELERATORS)
    devices = trainer.get("devices", "auto")
    listed = isinstance(devices, (list, ListConfig)) and devices and all(is_int(d) for d in devices)
    if not (devices == "auto" or (is_int(devices) and devices >= 1) or listed):
        allowed = "auto, a count >= 1, or a list of device indices"
        raise ConfigError("trainer.devices", plain(devices), allowed)


def check_accelerator(accelerator: str) -> None:
    """Refuse an accelerator this machine does not have (`trainer=gpu` on a CPU machine)."""
    available = available_accelerators()
    if accelerator not in available:
        allowed = f"one that this machine has: {', '.join(available)}"
        raise ConfigError("trainer.accelerator", accelerator, allowed)


def available_accelerators() -> tuple[str, ...]:
    """The accelerator settings this machine can run: always auto and cpu."""
    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        found += ["gpu", "cuda"]
    if torch.backends.mps.is_available():
        found += ["gpu", "mps"]
    return tuple(dict.fromkeys(found))


def check_folders(output_root: str, data_dir: str) -> None:
    """Refuse an output root or data folder that is a file, or an output root not writable."""
    for setting, value in (("paths.output_root", output_root), ("data.data_dir", data_dir)):
        path = Path(value)
        blocking = next((p for p in (path, *path.parents) if p.exists()), None)
        if blocking is not None and not blocking.is_dir():
            raise ConfigError(setting, value, f"a folder, but {blocking} is a file")
    existing = next(p for p in (Path(output_root), *Path(output_root).parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            "paths.output_root", output_root, f"a folder you can write to ({existing} is not)"
        )


def check_optimized_metric(name: str | None, logged: set[str]) -> None:
    """Refuse a metric name that runs do not log: a sweeper could not optimise it."""
    if name is not None and name not in logged:
        raise ConfigError("optimized_metric", name, f"a logged metric: {', '.join(sorted(logged))}")


def _check_batch_limit(setting: str, value: object) -> None:
    """None (all), a count of batches >= 1, or a share in (0, 1]."""
    if value is None or (is_int(value) and value >= 1):
        return
    if isinstance(value, float) and 0 < value <= 1:
        return
    raise ConfigError(
        setting, value, "null (all batches), a number of batches >= 1, or a share in (0, 1]"
    )


def _check_digits(digits: object) -> None:
    allowed = "a non-empty list of distinct digits in 0..9, e.g. digits=[1,8]"
    if not isinstance(digits, (ListConfig, list, tuple)) or len(digits) == 0:
        raise ConfigError("digits", plain(digits), allowed)
    values = list(digits)
    if not all(is_int(d) and 0 <= d <= 9 for d in values) or len(set(values)) != len(values):
        raise ConfigError("digits", values, allowed)
