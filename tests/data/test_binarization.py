"""Binarised data: the fixed evaluation draw, static and dynamic training draws."""

from __future__ import annotations

import torch

from vae_exp.data.binarization import fresh_draw
from vae_exp.data.datamodule import MNISTDigitsDataModule
from vae_exp.pipeline.building import build

from conftest import TINY_RUN


def _datamodule(small_mnist_dir, binarize: str, seed: int = 0) -> MNISTDigitsDataModule:
    datamodule = MNISTDigitsDataModule(
        digits=range(10), data_dir=small_mnist_dir, source="full", binarize=binarize, seed=seed
    )
    datamodule.setup()
    return datamodule


def _binary(images: torch.Tensor) -> bool:
    return bool(((images == 0) | (images == 1)).all())


def test_binarised_evaluation_images_are_the_same_draw_for_every_run(small_mnist_dir):
    grey = _datamodule(small_mnist_dir, "none")
    first, second = (_datamodule(small_mnist_dir, "dynamic", seed) for seed in (1, 2))
    assert not _binary(grey.val_set.tensors[0])
    assert _binary(first.val_set.tensors[0]) and first.split("test") is first.val_set
    assert torch.equal(first.val_set.tensors[0], second.val_set.tensors[0])
    assert torch.equal(first.train_set.tensors[0], grey.train_set.tensors[0])  # drawn per batch


def test_static_binarisation_draws_the_training_set_once_by_seed(small_mnist_dir):
    first, again, other = (_datamodule(small_mnist_dir, "static", s) for s in (1, 1, 2))
    assert _binary(first.train_set.tensors[0])
    assert torch.equal(first.train_set.tensors[0], again.train_set.tensors[0])
    assert not torch.equal(first.train_set.tensors[0], other.train_set.tensors[0])


def test_dynamic_binarisation_draws_each_training_batch_afresh(compose_train, small_mnist_dir):
    seen: list[torch.Tensor] = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x

    cfg = compose_train(f"data.data_dir={small_mnist_dir}", *TINY_RUN, "data.binarize=dynamic")
    cfg.trainer.max_epochs = 2
    cfg.trainer.limit_train_batches = 1
    cfg.data.batch_size = 300  # the whole training set (60 ones and eights) in one batch
    model = build(cfg.model, "model")
    encoder = model.encoder
    model.encoder = torch.nn.Sequential(Spy(), encoder)
    datamodule = build(cfg.data, "data")
    trainer = build(cfg.trainer, "trainer", callbacks=[], logger=False)
    trainer.fit(model, datamodule=datamodule)
    training = [x for x in seen if len(x) == len(datamodule.train_set)]
    assert len(training) == 2 and all(_binary(x) for x in training)
    # Shuffled, so compare what does not depend on the order: the sum of the images.
    assert not torch.equal(training[0].sum(dim=0), training[1].sum(dim=0))


def test_a_fresh_draw_is_binary_with_each_pixels_grey_level_as_its_mean():
    torch.manual_seed(0)
    grey = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).repeat(20_000, 1)
    drawn = fresh_draw(grey)
    assert _binary(drawn) and drawn.dtype == grey.dtype
    assert torch.equal(drawn[:, 0], grey[:, 0]) and torch.equal(drawn[:, 4], grey[:, 4])
    # 20,000 draws: the standard error of a mean is at most 0.0036.
    assert torch.allclose(drawn.mean(dim=0), grey[0], atol=0.015)
    assert not torch.equal(drawn, fresh_draw(grey))
