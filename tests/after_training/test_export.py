"""`vae_exp.exporting`: ONNX under onnxruntime and TorchScript under torch.jit.load, as PyTorch."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers.data_formats import write_image_folder
from helpers.latent_tab import train_into

from vae_exp.exporting import EXPORTS_DIR, export
from vae_exp.foundation.errors import ConfigError, UserError
from vae_exp.runs.loaded_run import load_run

from conftest import CHECKOUT, TINY_RUN, write_small_mnist

TOLERANCE = 1e-5
NETWORKS = {
    "conv": (),
    "mlp": ("network=mlp",),
    "conditional conv": ("conditional=true",),
    "conditional mlp": ("network=mlp", "conditional=true", "latent_dim=3"),
    "conv64 colour": (
        "network=conv64",
        "data=image_folder",
        "data.image_size=64",
        "data.channels=3",
    ),
}


class TrainedRuns(dict):
    """A tiny trained run of each network, by name, each trained when a test first asks for it."""

    def __init__(self, root) -> None:
        super().__init__()
        self.root = root
        self.data_dir = write_small_mnist(root / "data")

    def __missing__(self, name: str):
        data = []
        if "conv64" in name:
            pictures = write_image_folder(self.root / "pictures", {"a": 12, "b": 12}, size=(64, 64))
            data = [f"data.path={pictures}", "data.batch_size=8"]
        run_dir = train_into(
            self.root, name.replace(" ", "_"), self.data_dir, *NETWORKS[name], *data
        )
        self[name] = run_dir
        return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> TrainedRuns:
    return TrainedRuns(tmp_path_factory.mktemp("export"))


def _inputs(model, image_shape, batch: int = 5) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(7)
    inputs = {
        "images": torch.rand((batch, *image_shape), generator=generator),
        "z": torch.randn((batch, model.latent_dim), generator=generator),
    }
    if model.conditional:
        inputs["labels"] = torch.tensor([model.classes[i % 2] for i in range(batch)])
    return inputs


def _expected(model, inputs) -> dict[str, torch.Tensor]:
    labels = inputs.get("labels")
    with torch.no_grad():
        z_mean, log_var = model.encode(inputs["images"], labels)
        return {"z_mean": z_mean, "log_var": log_var, "images": model.decode(inputs["z"], labels)}


def _run_onnx(folder, part: str, inputs):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(folder / f"{part}.onnx"))
    names = [i.name for i in session.get_inputs()]
    outputs = session.run(None, {name: inputs[name].numpy() for name in names})
    return names, dict(zip([o.name for o in session.get_outputs()], outputs, strict=True))


def _run_torchscript(folder, part: str, inputs, names):
    loaded = torch.jit.load(str(folder / f"{part}.pt"))
    with torch.no_grad():
        outputs = loaded(*(inputs[name] for name in names))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return [o.numpy() for o in outputs]


@pytest.mark.parametrize(
    "network",
    [
        "conv",
        pytest.param("mlp", marks=pytest.mark.slow),
        pytest.param("conditional conv", marks=pytest.mark.slow),
        pytest.param("conditional mlp", marks=pytest.mark.slow),
        pytest.param("conv64 colour", marks=pytest.mark.slow),
    ],
)
@pytest.mark.parametrize("fmt", [pytest.param("onnx", marks=pytest.mark.slow), "torchscript"])
def test_the_exported_encoder_and_decoder_match_pytorch(runs, network, fmt):
    run = load_run(runs[network])
    folder = export(run, format=fmt)
    assert folder.parent == runs[network] / EXPORTS_DIR and folder.name.startswith(fmt)
    about = json.loads((folder / "export.json").read_text())
    model = load_run(runs[network]).model
    image_shape = [3, 64, 64] if "conv64" in network else [1, 28, 28]
    assert about["latent_dim"] == model.latent_dim and about["image_shape"] == image_shape
    assert about["likelihood"] == "Bernoulli" and about["conditional"] == model.conditional
    inputs = _inputs(model, image_shape)
    expected = _expected(model, inputs)
    for part in ("encoder", "decoder"):
        described = about[part]
        names = [i["name"] for i in described["inputs"]]
        outputs = [o["name"] for o in described["outputs"]]
        if fmt == "onnx":
            found_names, found = _run_onnx(folder, part, inputs)
            assert found_names == names
            found = [found[name] for name in outputs]
        else:
            found = _run_torchscript(folder, part, inputs, names)
        for name, value in zip(outputs, found, strict=True):
            assert value.shape == tuple(expected[name].shape)
            assert np.abs(value - expected[name].numpy()).max() <= TOLERANCE, (part, name)
        assert described["max_abs_difference_from_pytorch"] <= TOLERANCE
    if model.conditional:
        assert about["classes"] == [1, 8] and "labels" in names


@pytest.mark.slow
def test_an_export_never_replaces_an_earlier_one(runs):
    first = export(runs["conv"], "torchscript")
    kept = {path.name: path.read_bytes() for path in first.iterdir()}
    second = export(runs["conv"], "torchscript")
    assert second != first and second.name.startswith("torchscript-")
    assert {path.name: path.read_bytes() for path in first.iterdir()} == kept
    assert not [p for p in second.parent.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.parametrize("fmt", [pytest.param("onnx", marks=pytest.mark.slow), "torchscript"])
def test_a_network_that_cannot_be_exported_is_refused_in_one_line(tmp_path, fmt):
    import vae_exp

    data_dir = write_small_mnist(tmp_path / "data")
    run_dir = tmp_path / "own"
    target = "network.decoder._target_=helpers.own_networks.PerImageDecoder"
    cfg = vae_exp.compose(
        [f"paths.run_dir={run_dir}", f"data.data_dir={data_dir}", *TINY_RUN, target]
    )
    vae_exp.fit(cfg)
    with pytest.raises(UserError) as refused:
        export(run_dir, fmt)
    message = str(refused.value)
    assert "\n" not in message and "decoder (PerImageDecoder)" in message
    if fmt == "onnx":
        assert isinstance(refused.value, ConfigError) and "format='onnx' is not allowed" in message
    assert list((run_dir / EXPORTS_DIR).iterdir()) == []  # nothing half written is left


def test_a_format_that_is_not_offered_is_refused_before_any_work(runs):
    with pytest.raises(ConfigError, match="format='tflite' is not allowed: one of onnx, torch"):
        export(runs["conv"], "tflite")


@pytest.mark.slow
def test_the_example_decodes_with_onnxruntime_alone(runs, tmp_path):
    folder = export(runs["conv"], "onnx")
    out = tmp_path / "decoded.png"
    script = CHECKOUT / "examples" / "exported_decoder.py"
    # vae_exp and torch cannot be imported: the example needs neither.
    program = (
        "import runpy, sys; sys.modules['vae_exp'] = sys.modules['torch'] = None; "
        f"sys.argv = ['x', {str(folder)!r}, '0,1,0,0', {str(out)!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    example = runpy.run_path(str(script))
    image = example["decode"](folder, [0, 1, 0, 0])
    with torch.no_grad():
        expected = load_run(runs["conv"]).model.decode(torch.tensor([[0.0, 1, 0, 0]]))[0]
    assert np.abs(image - expected.numpy()).max() <= TOLERANCE
    assert out.is_file()
