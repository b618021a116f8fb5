"""The names under which runs log their figures.

The model, the callbacks, the config checks, the sweep summary and the tools
all take metric names from here, so a name is spelt in one place.
"""

from __future__ import annotations

from dataclasses import fields

from vae_exp.models.losses import LossTerms

TERMS = tuple(field.name for field in fields(LossTerms))  # loss, recon, kl, neg_elbo
STAGES = ("train", "val")


def metric_name(stage: str, term: str) -> str:
    """`val`, `loss` -> `val/loss`."""
    return f"{stage}/{term}"


def kl_dim_name(dim: int) -> str:
    """The per-dimension KL divergence of latent dimension `dim`."""
    return f"val/kl_dim/{dim}"


TRAIN_LOSS = metric_name("train", "loss")
TRAIN_LOSS_STEP = "train/loss_step"
VAL_LOSS = metric_name("val", "loss")
VAL_NEG_ELBO = metric_name("val", "neg_elbo")
ACTIVE_UNITS = "val/active_units"
KL_COEFFICIENT = "train/kl_coefficient"  # logged while kl_warmup_epochs raises it

# The figures that tell runs apart: the HPARAMS columns and the sweep summary's.
SUMMARY_METRICS = (VAL_LOSS, VAL_NEG_ELBO, ACTIVE_UNITS)

# The sweep summary's columns from a job's newest evaluation.json, by the key they are read from.
EVALUATION_COLUMNS = {
    "eval/nll": "nll",
    "eval/linear_probe": "linear_probe_accuracy",
    "eval/knn": "knn_accuracy",
}


def model_metric_names() -> set[str]:
    """What the VAE itself logs."""
    return {metric_name(s, t) for s in STAGES for t in TERMS} | {TRAIN_LOSS_STEP}


def latent_stat_names(latent_dim: int) -> set[str]:
    """What the latent-statistics callback logs for a latent space of `latent_dim` dimensions."""
    return {kl_dim_name(d) for d in range(latent_dim)} | {ACTIVE_UNITS}
