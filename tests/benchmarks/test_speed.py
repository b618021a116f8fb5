"""What the speed work relies on: mixed precision kept to the networks, whole-batch loading,
the default precision's choice, and the benchmarks that measure them."""

from __future__ import annotations

import ctypes
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import hydra
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

import vae_exp
from vae_exp.data.batches import WholeBatches, keep_batch
from vae_exp.data.mnist_files import raw_folder
from vae_exp.models import VAE
from vae_exp.models.optimizers import RMSprop
from vae_exp.pipeline import precision
from vae_exp.pipeline.building import build
from vae_exp.pipeline.precision import native_precision

from conftest import write_idx

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_under_cpu_autocast_the_networks_run_in_bf16_and_the_loss_in_float32():
    torch.manual_seed(0)
    vae = VAE()
    x = torch.rand(4, 1, 28, 28)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert vae.encoder(x)[0].dtype == torch.bfloat16
        z_mean, z_log_var = vae.encode(x)
        logits = vae.decoder_output(z_mean)
        terms = vae.loss_terms(x)
    assert z_mean.dtype == z_log_var.dtype == logits.dtype == torch.float32
    assert all(getattr(terms, name).dtype == torch.float32 for name in ("loss", "recon", "kl"))
    terms.loss.backward()
    assert all(p.grad.dtype == torch.float32 for p in vae.parameters())


@pytest.mark.filterwarnings("ignore:.*self.trainer. reference is not registered")
def test_validation_is_computed_in_full_precision_under_autocast():
    torch.manual_seed(0)
    vae = VAE()
    batch = (torch.rand(8, 1, 28, 28), torch.ones(8, dtype=torch.long))
    with torch.random.fork_rng():
        full = vae.validation_step(batch, 0)
    with torch.random.fork_rng(), torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = vae.validation_step(batch, 0)
    for key in ("loss", "z_mean", "posterior_log_var"):
        assert torch.equal(mixed[key], full[key]), key
    with torch.random.fork_rng(), torch.autocast("cpu", dtype=torch.bfloat16):
        trained = vae.loss_terms(batch[0]).loss  # training does use bf16: a different value
    assert not torch.equal(trained, full["loss"])


def test_whole_batches_give_the_batches_of_a_plain_loader():
    images, labels = torch.rand(37, 1, 28, 28), torch.arange(37)
    dataset = TensorDataset(images, labels)
    seed = torch.Generator().manual_seed(3)
    plain = list(DataLoader(dataset, batch_size=8, shuffle=True, generator=seed))
    seed.manual_seed(3)
    whole = DataLoader(
        WholeBatches(dataset), batch_size=8, shuffle=True, generator=seed, collate_fn=keep_batch
    )
    batches = list(whole)
    assert [len(b[0]) for b in batches] == [8, 8, 8, 8, 5]
    for (x, y), (x_plain, y_plain) in zip(batches, plain, strict=True):
        assert torch.equal(x, x_plain) and torch.equal(y, y_plain)


def test_default_precision_is_bf16_mixed_only_with_native_bf16(monkeypatch, compose_train):
    # A CPU without bfloat16 instructions is not at hand: the checks are replaced to say so.
    assert compose_train().trainer.precision == native_precision("auto")
    assert native_precision("mps") == precision.FULL
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, name, lambda: False, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert native_precision("cpu") == native_precision("auto") == precision.FULL
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert native_precision("cpu") == precision.MIXED
    assert compose_train("trainer.precision=32-true").trainer.precision == "32-true"


def _gradients_with_dead_units(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Gradients over thirty orders of magnitude, a third of them exactly zero."""
    magnitudes = 10 ** torch.empty(shape, dtype=dtype).uniform_(-30, 0)
    grad = torch.randn(shape, dtype=dtype) * magnitudes
    grad[torch.rand(shape) < 0.3] = 0
    return grad


def test_the_validation_batch_size_leaves_the_logged_means_alone(compose_train, small_mnist_dir):
    # val/kl is computed, not sampled: any difference would be the batches' weighting.
    logged = []
    for size in (7, 128):  # 7 does not divide the 20 validation images
        cfg = compose_train(f"data.data_dir={small_mnist_dir}", f"data.eval_batch_size={size}")
        torch.manual_seed(0)
        model, datamodule = build(cfg.model, "model"), build(cfg.data, "data")
        trainer = pl.Trainer(
            accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
        )
        logged.append(trainer.validate(model, datamodule=datamodule, verbose=False)[0])
        first_batch = next(iter(datamodule.val_dataloader()))[0]
        assert len(first_batch) == min(size, len(datamodule.val_set))
    assert logged[0]["val/kl"] == pytest.approx(logged[1]["val/kl"], rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "settings",
    [{}, {"weight_decay": 1e-2}, {"eps": 1e-12}, {"momentum": 0.9}, {"centered": True}],
    ids=["reference", "weight_decay", "small_eps", "momentum", "centered"],
)
def test_rmsprop_steps_exactly_as_torch_does(settings, dtype):
    torch.manual_seed(0)
    shapes = [(32, 300), (64, 32, 3, 3), (7,)]
    theirs = [torch.randn(shape, dtype=dtype, requires_grad=True) for shape in shapes]
    ours = [p.detach().clone().requires_grad_() for p in theirs]
    options = {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7, **settings}
    torch_rmsprop, rmsprop = torch.optim.RMSprop(theirs, **options), RMSprop(ours, **options)
    for _ in range(30):
        for mine, reference in zip(ours, theirs, strict=True):
            reference.grad = _gradients_with_dead_units(reference.shape, dtype)
            mine.grad = reference.grad.clone()
        torch_rmsprop.step()
        rmsprop.step()
    for mine, reference in zip(ours, theirs, strict=True):
        assert torch.equal(mine, reference)
    state, torch_state = rmsprop.state_dict(), torch_rmsprop.state_dict()
    assert state["state"].keys() == torch_state["state"].keys()
    for key, values in torch_state["state"][0].items():
        assert torch.equal(state["state"][0][key], values), key


def test_rmsprop_continues_from_torch_rmsprop_state():
    # Checkpoints written with torch.optim.RMSprop resume under this one, and back.
    torch.manual_seed(1)
    first = torch.randn(50, requires_grad=True)
    second = first.detach().clone().requires_grad_()
    earlier = torch.optim.RMSprop([first], lr=1e-3, alpha=0.9, eps=1e-7)
    for _ in range(5):
        first.grad = _gradients_with_dead_units((50,), torch.float32)
        earlier.step()
    second.data.copy_(first.data)
    later = RMSprop([second], lr=1e-3, alpha=0.9, eps=1e-7)
    checkpoint = io.BytesIO()
    torch.save(earlier.state_dict(), checkpoint)
    checkpoint.seek(0)
    later.load_state_dict(torch.load(checkpoint))
    for _ in range(5):
        first.grad = _gradients_with_dead_units((50,), torch.float32)
        second.grad = first.grad.clone()
        earlier.step()
        later.step()
    assert torch.equal(first, second)
    assert later.state[second]["step"] == 10


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_torch_optimizers_take_their_fused_step_with_the_same_results(name, compose_train):
    torch.manual_seed(0)
    weights = [torch.randn(shape, requires_grad=True) for shape in [(40, 784), (40,), (7, 3, 3)]]
    copies = [w.detach().clone().requires_grad_() for w in weights]
    options = OmegaConf.to_container(compose_train(f"optimizer={name}").optimizer)
    assert options.pop("fused") is True
    fused = hydra.utils.instantiate({**options, "fused": True})(weights)
    default = hydra.utils.instantiate(options)(copies)  # torch's own choice on this device
    assert fused.defaults["fused"] and not default.defaults["fused"]
    for step in range(30):
        for w, c in zip(weights, copies, strict=True):
            w.grad = torch.randn_like(w)
            c.grad = w.grad.clone()
        fused.step()
        default.step()
        if step == 14:  # a checkpoint of the default step resumes under the fused one
            checkpoint = io.BytesIO()
            torch.save(default.state_dict(), checkpoint)
            checkpoint.seek(0)
            fused.load_state_dict(torch.load(checkpoint))
            fused.param_groups[0]["fused"] = True  # the checkpoint brought its group settings
    for w, c in zip(weights, copies, strict=True):
        torch.testing.assert_close(w, c, rtol=1e-5, atol=1e-6)


_PAGE_FAULTS_PER_STEP = """
import resource, torch
from vae_exp.foundation.process import reuse_freed_memory
from vae_exp.models import VAE
torch.manual_seed(0)
vae, x = VAE(), torch.rand(16, 1, 28, 28)
optimizer = vae.configure_optimizers()
def faults_per_step(steps=10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        vae.loss_terms(x).loss.backward()
        optimizer.step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps
faults_per_step(3)
default = faults_per_step()
assert reuse_freed_memory()
faults_per_step(3)
print(default, faults_per_step())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_training_steps_reuse_freed_memory_instead_of_faulting_it_in_again():
    command = [sys.executable, "-c", _PAGE_FAULTS_PER_STEP]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    default, reused = (float(v) for v in result.stdout.split())
    assert reused < 200, reused  # a step of the reference model touches about 2,000 pages
    assert default > 10 * reused, (default, reused)


def test_a_users_own_malloc_setting_is_left_alone():
    code = "from vae_exp.foundation.process import reuse_freed_memory; print(reuse_freed_memory())"
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "1048576"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


_LIBRARY_LOADS_PER_STEP = """
import ctypes, os, torch
import pytorch_lightning
from vae_exp.foundation.process import skip_missing_nvml
from vae_exp.models import VAE
loads = []
real_load = ctypes.CDLL.__init__
def counting_load(self, name, *args, **kwargs):
    loads.append(name)
    real_load(self, name, *args, **kwargs)
ctypes.CDLL.__init__ = counting_load
vae = VAE(latent_dim=2)
optimizer = torch.optim.Adam(vae.parameters())  # torch's optimizers ask for a GPU each step
def loads_in_steps(steps=5):
    loads.clear()
    for _ in range(steps):
        vae.loss_terms(torch.rand(4, 1, 28, 28)).loss.backward()
        optimizer.step()
    return len(loads)
gpu = torch.cuda.is_available()
default = loads_in_steps()
skipped = skip_missing_nvml()
print(default, skipped, loads_in_steps(), os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK"),
      torch.cuda.is_available() == gpu)
"""


def _has_nvml() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


@pytest.mark.skipif(torch.version.cuda is None, reason="the NVML check exists in CUDA builds")
@pytest.mark.skipif(_has_nvml(), reason="a machine with NVML keeps its check")
def test_optimizer_steps_stop_searching_for_a_missing_nvml():
    result = subprocess.run(
        [sys.executable, "-c", _LIBRARY_LOADS_PER_STEP], capture_output=True, text=True, check=True
    )
    default, skipped, after, variable, same_answer = result.stdout.split()
    assert (int(default), skipped) == (5, "True")  # one failed search per step under Lightning
    assert (int(after), variable, same_answer) == (0, "None", "True")


def test_matmul_rates_prints_both_precisions():
    result = subprocess.run(
        [sys.executable, "benchmarks/matmul_rates.py", "--sizes", "256", "--seconds", "0.2"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    n, fp32, bf16, ratio = result.stdout.strip().splitlines()[-1].split()
    assert n == "256" and float(fp32) >= 0 and float(bf16) >= 0
    # The rates are printed as whole numbers and the ratio to one decimal: the ratio of the
    # unrounded rates lies within what the printed figures allow, however slow the machine.
    low = max(float(bf16) - 0.5, 0) / (float(fp32) + 0.5)
    high = (float(bf16) + 0.5) / max(float(fp32) - 0.5, 1e-9)
    assert low - 0.05 <= float(ratio) <= high + 0.05


@pytest.mark.slow
def test_throughput_benchmark_compares_both_models(tmp_path):
    # The MLP preset holds out 10,000 training images: a synthetic set large enough for it.
    folder = raw_folder(tmp_path, "MNIST")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 10_400), ("t10k", 100)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    command = [sys.executable, "benchmarks/throughput.py", "--steps", "6", "--warmup", "2"]
    result = subprocess.run(
        [*command, "--repeats", "1", "--data-dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {"reference", "mlp"}
    assert rows["reference"][1] == "16" and rows["mlp"][1] == "100"
    for row in rows.values():
        framework, plain, ratio = (float(v) for v in row[2:5])
        assert framework > 0 and plain > 0 and float(row[5]) > 0 and float(row[6]) > 0
        assert ratio == pytest.approx(framework / plain, abs=0.01)
        assert [float(r) for r in row[7:]] == pytest.approx([ratio], abs=0.01)  # one repeat


def test_step_floor_replays_every_convolution_and_matrix_product_of_a_step(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/step_floor.py", "--blocks", "2", "--block", "2"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    header, summary, kernels = result.stdout.splitlines()[:3]
    cfg = vae_exp.compose([f"paths.run_dir={tmp_path}"])
    model = build(cfg.model, "model", image_shape=[1, 28, 28])
    convolutions = sum(isinstance(m, torch.nn.modules.conv._ConvNd) for m in model.modules())
    linears = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    # Each layer's forward call, and in the backward pass one call per convolution and two
    # matrix products per dense layer (its weights' gradient and its input's).
    expected = {
        "convolution": convolutions,
        "matrix product": 3 * linears,
        "convolution backward": convolutions,
    }
    assert header.endswith(f"oneDNN calls in one step: {expected}")
    found = re.fullmatch(
        r"whole step +(\S+) ms, its oneDNN calls alone +(\S+) ms \((\d+)% of the step\): "
        r"without the rest (\S+)x faster or more",
        summary,
    )
    assert found, summary
    whole, alone, share, speedup = (float(value) for value in found.groups())
    assert share == pytest.approx(100 * alone / whole, abs=1)
    assert speedup == pytest.approx(whole / alone, abs=0.011)
    found = re.fullmatch(
        r"all (\d+) ATen calls replayed +(\S+) ms \((\d+)% of the step\), the (\d+) other than "
        r"oneDNN's +(\S+) ms; between the kernels (\S+) ms or more",
        kernels,
    )
    assert found, kernels
    every_count, every, _, other_count, _, between = (float(value) for value in found.groups())
    assert every_count == other_count + sum(expected.values())
    assert between == pytest.approx(max(whole - every, 0), abs=0.011)
