"""The variational autoencoder as a LightningModule."""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
import torch

from vae_exp.foundation.errors import ConfigError, DivergenceError
from vae_exp.models import reparameterization as reparam
from vae_exp.models.batches import unpack_batch
from vae_exp.models.components import OptimizerFactory, build_module, optimizer_factory, plain
from vae_exp.models.likelihoods import Likelihood
from vae_exp.models.losses import LossTerms, batch_mean
from vae_exp.models.metrics import (
    KL_COEFFICIENT,
    TERMS,
    TRAIN_LOSS_STEP,
    metric_name,
    model_metric_names,
)
from vae_exp.models.objectives import Encoding, Objective

Labels = torch.Tensor | int | None  # class numbers of a conditional VAE's images

# RMSprop with Keras's defaults, the reference experiment's optimizer.
REFERENCE_OPTIMIZER = {
    "_target_": "vae_exp.models.optimizers.RMSprop",
    "lr": 1e-3,
    "alpha": 0.9,
    "eps": 1e-7,
}
REFERENCE_LIKELIHOOD = {"_target_": "vae_exp.models.likelihoods.Bernoulli"}
REFERENCE_OBJECTIVE = {"_target_": "vae_exp.models.objectives.ELBO"}


def reference_network(latent_dim: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The configs of the reference convolutional encoder and decoder."""
    return tuple(
        {"_target_": f"vae_exp.models.networks.{name}", "latent_dim": latent_dim}
        for name in ("ConvEncoder", "ConvDecoder")
    )


class VAE(pl.LightningModule):
    """A VAE; by default the reference experiment's network, likelihood and loss.

    Args:
        encoder: config of the encoder (`_target_` naming an `nn.Module` that maps
            images to the posterior's mean and log-variance, and its arguments);
            None: the reference convolutional encoder.
        decoder: config of the decoder (maps latent vectors to pixel logits);
            None: the reference convolutional decoder.
        latent_dim: size of the latent space.
        reparameterization: `standard` or `blog` (see `vae_exp.models.reparameterization`).
        optimizer: config of the optimizer (`_target_` naming a `torch.optim`
            class, and its arguments) or a function of the parameters that builds
            one; None: RMSprop with Keras's defaults.
        channels_last: keep convolution weights and images in channels-last memory
            order, which makes the convolutions faster on CPUs (about 10% here) and
            tensor-core GPUs; the results are the same up to float rounding.
        likelihood: config of p(x | z) (`vae_exp.models.likelihoods`); None: Bernoulli.
        objective: config of the training objective (`vae_exp.models.objectives`), which
            holds its own settings such as the ELBO's `kl_weight`; None: the reference's
            weighted ELBO (kl_weight 5e-4).
        kl_warmup_epochs: the KL coefficient rises linearly from 0 to the objective's
            kl_weight over this many epochs of training (validation always uses all of it).
        conditional: a conditional VAE: encoder and decoder also receive the class
            label, one-hot over `classes` (the networks get `condition_size`).
        classes: the class numbers a conditional VAE knows, e.g. [1, 8].
        image_shape: the images' (channels, height, width), given to networks that take
            `image_shape` and have none set; training fills it in from the data. None:
            the networks' own default, the reference data's (1, 28, 28).

    Example:
        >>> vae = VAE(latent_dim=2, optimizer={"_target_": "torch.optim.Adam", "lr": 1e-3})
        >>> vae.decode(torch.zeros(1, 2)).shape
        torch.Size([1, 1, 28, 28])
    """

    def __init__(
        self,
        encoder: Mapping[str, Any] | None = None,
        decoder: Mapping[str, Any] | None = None,
        latent_dim: int = 4,
        reparameterization: str = "standard",
        optimizer: Mapping[str, Any] | OptimizerFactory | None = None,
        channels_last: bool = True,
        likelihood: Mapping[str, Any] | None = None,
        objective: Mapping[str, Any] | None = None,
        kl_warmup_epochs: int = 0,
        conditional: bool = False,
        classes: Sequence[int] | None = None,
        image_shape: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        reparam.check_reparameterization(reparameterization)
        default_encoder, default_decoder = reference_network(latent_dim)
        # Plain data, so that checkpoints hold the parts' configs and load with weights_only.
        encoder, decoder = plain(encoder or default_encoder), plain(decoder or default_decoder)
        optimizer = plain(optimizer or REFERENCE_OPTIMIZER)
        likelihood = plain(likelihood or REFERENCE_LIKELIHOOD)
        objective = plain(objective or REFERENCE_OBJECTIVE)
        classes = None if classes is None else [int(c) for c in classes]
        image_shape = None if image_shape is None else [int(n) for n in image_shape]
        ignored = [] if isinstance(optimizer, dict) else ["optimizer"]
        self.save_hyperparameters(ignore=ignored, logger=False)
        self.latent_dim = latent_dim
        self.reparameterization = reparameterization
        self.optimizer_factory = optimizer_factory(optimizer)
        self.conditional = bool(conditional)
        self.classes = tuple(int(c) for c in classes or ())
        if conditional:
            if not self.classes:
                raise ConfigError("classes", [], "the class numbers of a conditional VAE")
            encoder, decoder = _conditioned(encoder, decoder, len(self.classes))
        encoder, decoder = _shaped(encoder, image_shape), _shaped(decoder, image_shape)
        self.encoder = build_module(encoder, "encoder")
        self.decoder = build_module(decoder, "decoder")
        self.likelihood: Likelihood = build_module(likelihood, "likelihood", Likelihood)
        self.objective: Objective = build_module(objective, "objective", Objective)
        self.kl_warmup_epochs = kl_warmup_epochs
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.to(memory_format=self.memory_format)

    def encode(self, x: torch.Tensor, y: Labels = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and encoder log-variance of images x (of classes y, if conditional)."""
        x = x.contiguous(memory_format=self.memory_format)
        if not self.conditional:
            z_mean, z_log_var = self.encoder(x)
        else:
            z_mean, z_log_var = self.encoder(x, self.one_hot(y, len(x)))
        # Under mixed precision the networks compute in 16 bits; the distributions do not.
        return z_mean.float(), z_log_var.float()

    def decoder_output(self, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """The decoder's per-pixel output for latent vectors z, which the likelihood reads."""
        if not self.conditional:
            return self.decoder(z).float()
        return self.decoder(z, self.one_hot(y, len(z))).float()

    def decode(self, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """The expected images (N, C, H, W), in [0, 1], of latent vectors z (of classes y)."""
        return self.likelihood.mean(self.decoder_output(z, y))

    def one_hot(self, y: Labels, n: int) -> torch.Tensor:
        """Class labels (a tensor of class numbers, or one number for all n) as one-hot rows."""
        if y is None:
            raise ValueError(f"a conditional VAE needs class labels: one of {list(self.classes)}")
        if isinstance(y, int):
            labels = torch.full((n,), y, device=self.device)
        else:
            labels = torch.as_tensor(y, device=self.device)
        matches = labels[:, None] == torch.tensor(self.classes, device=self.device)
        if not bool(matches.any(dim=1).all()):
            unknown = sorted(set(labels.tolist()) - set(self.classes))
            raise ValueError(f"classes {unknown} are not among this VAE's {list(self.classes)}")
        return matches.to(torch.float32)

    def reparameterize(self, z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
        return reparam.sample(z_mean, z_log_var, self.reparameterization)

    def decode_samples(self, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """The decoder's output for z (N, D) or for K samples of each image, z (N, K, D)."""
        if z.dim() == 2:
            return self.decoder_output(z, y)
        n, k, _ = z.shape
        repeated = y.repeat_interleave(k) if isinstance(y, torch.Tensor) else y
        output = self.decoder_output(z.reshape(n * k, -1), repeated)
        return output.reshape(n, k, *output.shape[1:])

    @property
    def kl_weight(self) -> float | None:
        """The objective's KL coefficient, if it has one (the ELBO's, not IWAE)."""
        return getattr(self.objective, "kl_weight", None)

    def forward(self, x: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """Deterministic reconstruction: the decoded posterior mean."""
        z_mean, _ = self.encode(x, y)
        return self.decode(z_mean, y)

    def sample(
        self, n: int, generator: torch.Generator | None = None, y: Labels = None
    ) -> torch.Tensor:
        """Decode n draws from the prior N(0, I) (of class y, if conditional)."""
        z = torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return self.decode(z, y)

    def per_image_terms(
        self, x: torch.Tensor, y: Labels = None, kl_scale: float = 1.0
    ) -> tuple[LossTerms, torch.Tensor, torch.Tensor]:
        """Each image's loss terms under the objective, sampling z as in training.

        Returns the terms (each of shape (N,)), the posterior mean and the
        log-variance that sampling used.
        """
        z_mean, z_log_var = self.encode(x, y)
        encoding = Encoding(z_mean, z_log_var, self.reparameterization)
        terms = self.objective.per_image_terms(
            x, encoding, lambda z: self.decode_samples(z, y), self.likelihood, kl_scale
        )
        return terms, z_mean, encoding.posterior_log_var

    def loss_terms(self, x: torch.Tensor, y: Labels = None, kl_scale: float = 1.0) -> LossTerms:
        """The batch means of `per_image_terms`."""
        return batch_mean(self.per_image_terms(x, y, kl_scale)[0])

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """log p(x | z) (given y, if conditional) for x (N, C, H, W) and z (N, k, D): (N, k)."""
        output = self.decode_samples(z, y)
        return self.likelihood.log_prob(output, x.unsqueeze(1).expand_as(output)).flatten(2).sum(2)

    def kl_scale(self) -> float:
        """The warm-up's factor of the KL coefficient at this training step, in [0, 1]."""
        if not self.kl_warmup_epochs:
            return 1.0
        steps_per_epoch = max(1, int(self.trainer.num_training_batches))
        return min(1.0, self.global_step / (self.kl_warmup_epochs * steps_per_epoch))

    def on_train_epoch_start(self) -> None:
        self._train_sums = torch.zeros(len(TERMS) + 1, device=self.device)

    def training_step(self, batch: Any, batch_idx: int):
        images, labels = unpack_batch(batch)
        terms = self.loss_terms(images, labels, self.kl_scale())
        if not torch.isfinite(terms.loss):
            raise DivergenceError(self._divergence_message(terms))
        # Summed here and logged once per epoch: a `self.log` call per term and step costs
        # about a tenth of a small model's training time.
        n = len(images)
        values = torch.stack([getattr(terms, name).detach() for name in TERMS])
        self._train_sums += torch.cat([values * n, values.new_tensor([n])])
        if self.trainer.global_step % self.trainer.log_every_n_steps == 0:
            self.log(TRAIN_LOSS_STEP, terms.loss, on_step=True, on_epoch=False, prog_bar=True)
        return terms.loss

    def validation_step(self, batch: Any, batch_idx: int):
        """Logs the val/ terms; returns the posterior too, for the latent-space callbacks.

        In full precision even when training uses mixed precision, so that the
        reported figures measure the model, not the rounding of a training mode.
        """
        images, labels = unpack_batch(batch)
        with torch.autocast(self.device.type, enabled=False):
            per_image, z_mean, posterior_log_var = self.per_image_terms(images, labels)
        terms = batch_mean(per_image)
        self._log_terms("val", terms, len(images))
        return {"loss": terms.loss, "z_mean": z_mean, "posterior_log_var": posterior_log_var}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The random state travels with the weights, so that a resumed run draws the
        # same shuffles and samples as an uninterrupted one.
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        states = checkpoint.get("rng_states")
        if states is None:
            return
        torch.set_rng_state(states["torch"])
        if states["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(states["cuda"])

    def on_train_epoch_end(self) -> None:
        means = self._train_sums[:-1] / self._train_sums[-1].clamp(min=1)
        for name, value in zip(TERMS, means, strict=True):
            self.log(
                metric_name("train", name), value, on_step=False, on_epoch=True, sync_dist=True
            )
        if self.kl_warmup_epochs:
            self.log(KL_COEFFICIENT, self.kl_weight * self.kl_scale(), on_step=False, on_epoch=True)

    def _divergence_message(self, terms: LossTerms) -> str:
        """Which term stopped being finite, where, and what to try."""
        values = {name: getattr(terms, name).item() for name in TERMS}
        term = next((n for n in TERMS[1:] if not math.isfinite(values[n])), "loss")
        lr = self.trainer.optimizers[0].defaults.get("lr") if self.trainer.optimizers else None
        return (
            f"training diverged at step {self.global_step} (epoch {self.current_epoch + 1}): "
            f"{metric_name('train', term)} is {values[term]}. Try a lower optimizer.lr "
            f"(now {lr}) or kl_weight (now {self.kl_weight}), or clip gradients: "
            "+trainer.gradient_clip_val=1.0"
        )

    def metric_names(self) -> set[str]:
        """The metrics this module logs, for checking a metric name before training."""
        return model_metric_names() | ({KL_COEFFICIENT} if self.kl_warmup_epochs else set())

    def _log_terms(self, stage: str, terms: LossTerms, batch_size: int) -> None:
        for name in TERMS:
            self.log(
                metric_name(stage, name),
                getattr(terms, name),
                on_step=False,
                on_epoch=True,
                prog_bar=(stage, name) == ("val", "loss"),
                batch_size=batch_size,
                sync_dist=True,
            )

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())


def _network_class(config: Mapping[str, Any]) -> Any:
    """The class a network config names, or None where it cannot be found (refused later)."""
    module, _, name = str(config.get("_target_")).rpartition(".")
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _shaped(config: dict[str, Any], image_shape: list[int] | None) -> dict[str, Any]:
    """A network config with the data's image shape, where the class takes one and none is set.

    An `image_shape` of null means the data's; without one, the class's own default.
    """
    if "image_shape" in config and config["image_shape"] is None:
        config = {key: value for key, value in config.items() if key != "image_shape"}
    if image_shape is None or config.get("image_shape") is not None:
        return config
    found = _network_class(config)
    if found is None or "image_shape" not in inspect.signature(found).parameters:
        return config
    return {**config, "image_shape": image_shape}


def _conditioned(
    encoder: dict[str, Any], decoder: dict[str, Any], classes: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The network configs with `condition_size`, refused for a network that does not take it."""
    for part in (encoder, decoder):
        found = _network_class(part)
        if found is not None and "condition_size" not in inspect.signature(found).parameters:
            allowed = f"false: {found.__name__} takes no condition_size (network=conv or mlp do)"
            raise ConfigError("conditional", True, allowed)
    return {**encoder, "condition_size": classes}, {**decoder, "condition_size": classes}
