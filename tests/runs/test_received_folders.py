"""A run folder received from someone else is data: hostile files run no code, touch nothing
outside the folder, and damaged records give one line.

Each hostile file is written by the test in the real format; its payload would only create
a marker file, so a test fails if that file appears.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from helpers.commands import run_tool

import vae_exp
from vae_exp.foundation.errors import UserError
from vae_exp.foundation.trust import UntrustedTarget, check_targets
from vae_exp.runs.checkpoints import load_checkpoint, load_vae, run_config
from vae_exp.runs.containment import OutsideFolder, check_no_outside_links, contained_config
from vae_exp.runs.record import DamagedRecord
from vae_exp.runs.resume import resumed_config

CHECKPOINT = Path("checkpoints") / "last.ckpt"


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_tool(name, *args, cwd=cwd, VAE_EXP_OUTPUT_DIR=str(cwd / "outputs"))


def _one_line_refusal(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    for text in expected:
        assert text in errors[0], errors[0]


@pytest.fixture
def received(trained_run, tmp_path) -> Path:
    """A copy of a trained run, as if received from someone else."""
    copy = tmp_path / "received"
    shutil.copytree(trained_run[0], copy)
    return copy


def _opener(marker: Path) -> dict:
    """A config that would create `marker` if anything called what it names."""
    return {"_target_": "builtins.open", "_args_": [str(marker), "w"]}


def test_a_nested_target_in_a_checkpoint_is_refused(received, tmp_path):
    marker = tmp_path / "code_ran"
    contents = load_checkpoint(received / CHECKPOINT)
    contents["hyper_parameters"]["encoder"]["latent_dim"] = _opener(marker)
    torch.save(contents, received / CHECKPOINT)
    with pytest.raises(UntrustedTarget, match=r"encoder\.latent_dim\._target_='builtins.open'"):
        load_vae(received / CHECKPOINT)
    assert not marker.exists()


@pytest.mark.slow
def test_explore_refuses_a_checkpoint_with_a_nested_target_in_one_line(received, tmp_path):
    marker = tmp_path / "code_ran"
    contents = load_checkpoint(received / CHECKPOINT)
    contents["hyper_parameters"]["encoder"]["latent_dim"] = _opener(marker)
    torch.save(contents, received / CHECKPOINT)
    result = _tool("explore", f"run={received / CHECKPOINT}", "z=[0,1,0,0]", cwd=tmp_path)
    _one_line_refusal(result, "builtins.open", "not a class")
    assert not marker.exists()


@pytest.mark.parametrize(
    "place",
    ["optimizer", "likelihood", "objective", "decoder"],
)
def test_every_part_of_a_checkpoint_is_checked_at_any_depth(received, tmp_path, place):
    marker = tmp_path / "code_ran"
    contents = load_checkpoint(received / CHECKPOINT)
    part = contents["hyper_parameters"][place]
    part["extra"] = {"inner": [1, _opener(marker)]}
    torch.save(contents, received / CHECKPOINT)
    with pytest.raises(UntrustedTarget, match=rf"{place}\.extra\.inner\[1\]\._target_"):
        load_vae(received / CHECKPOINT)
    assert not marker.exists()


@pytest.mark.parametrize(
    "target, reason",
    [
        ("os.system", "not a class"),
        ("subprocess.Popen", "a subclass of"),
        ("no_such_module.Thing", "cannot be imported"),
        (["not", "a", "name"], "a class named module.Class"),
    ],
)
def test_only_classes_of_the_documented_kinds_pass(target, reason):
    with pytest.raises(UntrustedTarget, match=reason):
        check_targets({"callbacks": {"x": {"_target_": target}}})


def test_the_documented_kinds_and_vae_exp_classes_pass():
    check_targets(
        {
            "trainer": {
                "_target_": "pytorch_lightning.Trainer",
                "plugins": [{"_target_": "vae_exp.runs.checkpoint_io.AtomicCheckpointIO"}],
            },
            "callbacks": {"bar": {"_target_": "pytorch_lightning.callbacks.TQDMProgressBar"}},
            "logger": {"csv": {"_target_": "pytorch_lightning.loggers.CSVLogger"}},
            "model": {"optimizer": {"_target_": "torch.optim.Adam"}},
        }
    )


def _edit_config(run_dir: Path, edit) -> None:
    path = run_dir / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config))


@pytest.mark.parametrize(
    "place",
    ["callbacks", "logger", "trainer", "data"],
)
def test_a_received_config_naming_a_function_is_refused_before_anything_is_built(
    received, tmp_path, place
):
    marker = tmp_path / "code_ran"
    _edit_config(received, lambda config: config[place].update(payload={"x": _opener(marker)}))
    with pytest.raises(UntrustedTarget, match=rf"config\.yaml: {place}\.payload\.x\._target_"):
        resumed_config(vae_exp.compose(), [], received)
    assert not marker.exists()


def _payload_module(folder: Path, marker: Path) -> str:
    """A module inside the received folder whose import alone would create `marker`."""
    (folder / "payload_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "import torch\n"
        "class Payload(torch.nn.Module):\n    pass\n"
    )
    return "payload_module.Payload"


def test_a_received_folder_never_brings_code_of_its_own(received, tmp_path, monkeypatch):
    """Run from inside the received folder, its modules are on the import path: never imported."""
    marker = tmp_path / "code_ran"
    target = _payload_module(received, marker)
    monkeypatch.syspath_prepend(str(received))
    _edit_config(received, lambda config: config["callbacks"].update(x={"_target_": target}))
    with pytest.raises(UntrustedTarget, match="its module is inside the received folder"):
        resumed_config(vae_exp.compose(), [], received)
    contents = load_checkpoint(received / CHECKPOINT)
    contents["hyper_parameters"]["encoder"] = {"_target_": target}
    torch.save(contents, received / CHECKPOINT)
    with pytest.raises(UntrustedTarget, match="its module is inside the received folder"):
        load_vae(received / CHECKPOINT)
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("place", ["callbacks", "trainer"])
def test_resume_builds_nothing_a_received_config_names_but_allowed_classes(
    received, tmp_path, place
):
    marker = tmp_path / "code_ran"

    def edit(config):
        if place in ("callbacks", "logger"):
            config[place]["payload"] = _opener(marker)
        else:
            config[place]["payload"] = {"nested": _opener(marker)}

    _edit_config(received, edit)
    result = _tool("train", f"resume={received}", "trainer.max_epochs=3", cwd=tmp_path)
    _one_line_refusal(result, "config.yaml", "builtins.open")
    assert not marker.exists()


@pytest.mark.slow
def test_a_saved_config_with_an_interpolation_is_refused(received, tmp_path):
    _edit_config(received, lambda c: c["logger"]["csv"].update(save_dir="${oc.env:HOME}"))
    result = _tool("train", f"resume={received}", "trainer.max_epochs=3", cwd=tmp_path)
    _one_line_refusal(result, "logger.csv.save_dir holds an interpolation")


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['touch {marker}']\n",
        "model: [unclosed\n",
        "- just\n- a list\n",
    ],
)
def test_a_damaged_or_tagged_config_is_a_damaged_record(received, tmp_path, text):
    marker = tmp_path / "code_ran"
    (received / "config.yaml").write_text(text.format(marker=marker))
    with pytest.raises(DamagedRecord, match=r"config\.yaml"):
        resumed_config(vae_exp.compose(), [], received)
    with pytest.raises(DamagedRecord, match=r"config\.yaml"):
        run_config(received)
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['touch {marker}']\n"])
def test_a_damaged_or_tagged_config_gives_one_line(received, tmp_path, text):
    marker = tmp_path / "code_ran"
    (received / "config.yaml").write_text(text.format(marker=marker))
    for tool, args in (("train", ["trainer.max_epochs=3"]), ("evaluate", ["num_samples=2"])):
        key = "resume" if tool == "train" else "run"
        result = _tool(tool, f"{key}={received}", *args, cwd=tmp_path)
        _one_line_refusal(result, "config.yaml")
    assert not marker.exists()


@pytest.mark.slow
def test_a_damaged_results_file_is_named_and_explore_goes_on(received, tmp_path):
    (received / "results.json").write_text('{"status": "completed", ')
    result = _tool("train", f"resume={received}", "trainer.max_epochs=3", cwd=tmp_path)
    _one_line_refusal(result, "results.json", "cannot be read as JSON")
    explored = _tool("explore", f"run={received}", "z=[0,0,0,0]", f"out={tmp_path}", cwd=tmp_path)
    assert explored.returncode == 0, explored.stderr[-2000:]
    assert "Choosing a checkpoint without the run's record" in explored.stdout + explored.stderr
    assert (tmp_path / "z_0_0_0_0.png").is_file()


@pytest.mark.slow
def test_a_link_out_of_the_run_folder_is_refused(received, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(received / "figures")
    (received / "figures").symlink_to(elsewhere)
    for tool, args in (("explore", ["z=[0,0,0,0]"]), ("train", ["trainer.max_epochs=3"])):
        key = "resume" if tool == "train" else "run"
        result = _tool(tool, f"{key}={received}", *args, cwd=tmp_path)
        _one_line_refusal(result, "figures is a link to", "outside the run folder")
    assert not list(elsewhere.iterdir())


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.slow
def test_resume_never_writes_or_deletes_outside_its_folder(received, trained_run, tmp_path):
    """A received config points its checkpoints and logs into another run, and its checkpoint's
    state names a file outside with `..`: resume re-points the first and drops the second."""
    other = tmp_path / "other_run"
    shutil.copytree(trained_run[0], other)
    victim = tmp_path / "victim.ckpt"
    victim.write_bytes(b"someone else's checkpoint")

    def point_at_other(config):
        config["callbacks"]["model_checkpoint"]["dirpath"] = str(other / "checkpoints")
        for name in ("tensorboard", "csv"):
            config["logger"][name]["save_dir"] = str(other)

    _edit_config(received, point_at_other)
    contents = load_checkpoint(received / CHECKPOINT)
    escaping = str(received / "checkpoints" / ".." / ".." / victim.name)
    for state in contents["callbacks"].values():
        if isinstance(state, dict) and "best_k_models" in state:
            state["best_k_models"] = {escaping: torch.tensor(1e9)}
            state["kth_best_model_path"] = state["best_model_path"] = escaping
            state["best_model_score"] = state["kth_value"] = torch.tensor(1e9)
    torch.save(contents, received / CHECKPOINT)
    before = _snapshot(other)

    # The resuming command has no CSV logger of its own to re-point logger.csv at: refused.
    result = _tool("train", f"resume={received}", "trainer.max_epochs=3", cwd=tmp_path)
    _one_line_refusal(result, "logger.csv.save_dir=", "lies outside the run folder")
    assert _snapshot(other) == before

    _edit_config(received, lambda c: c["logger"]["csv"].update(save_dir=str(received)))
    result = _tool("train", f"resume={received}", "trainer.max_epochs=3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    for setting in ("callbacks.model_checkpoint.dirpath", "logger.tensorboard.save_dir"):
        assert f"{setting}='{other}" in output and "lies outside the run folder; using" in output
    assert victim.read_bytes() == b"someone else's checkpoint"
    assert _snapshot(other) == before
    record = json.loads((received / "results.json").read_text())
    assert (record["status"], record["epochs"]) == ("completed", 3)
    assert (received / record["best_checkpoint"]).is_file()


@pytest.mark.parametrize(
    "setting, value",
    [
        ("logger.tensorboard.save_dir", "elsewhere"),  # relative: the working directory
        ("callbacks.model_checkpoint.filename", "../../victim/x"),
        ("logger.tensorboard.version", "/tmp/victim"),
        ("logger.mlflow.tracking_uri", "sqlite:////tmp/victim/mlflow.db"),
        ("logger.mlflow.tracking_uri", "http://elsewhere.example:5000"),
    ],
)
def test_every_kind_of_location_outside_the_folder_is_found(tmp_path, setting, value):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    section, name, key = setting.split(".")
    saved = {section: {name: {key: value, "name": "", "monitor": "val/loss"}}}
    with pytest.raises(OutsideFolder, match=re.escape(f"{setting}={value!r} lies outside")):
        contained_config(saved, run_dir, lambda key: None, "config.yaml")
    own = "http://127.0.0.1:5000" if "://" in value and "sqlite" not in value else None
    if own is not None:  # a server: the one the resuming command names instead
        kept = contained_config(saved, run_dir, lambda key: own, "config.yaml")
        assert kept[section][name][key] == own
    inside = {section: {name: {key: str(run_dir / "logs"), "name": "", "monitor": "val/loss"}}}
    assert contained_config(inside, run_dir, lambda key: None, "config.yaml") == inside


def test_links_out_of_the_folder_are_found(received, tmp_path):
    check_no_outside_links(received, "run")  # a run as vae-exp writes it has none
    (received / "figures" / "inside.png").symlink_to(received / "config.yaml")
    check_no_outside_links(received, "run")  # a link within the folder is fine
    (received / "checkpoints" / "elsewhere.ckpt").symlink_to(tmp_path / "victim.ckpt")
    with pytest.raises(OutsideFolder, match=r"checkpoints/elsewhere\.ckpt is a link to"):
        check_no_outside_links(received, "run")


def test_a_record_naming_a_checkpoint_outside_is_read_inside(received, tmp_path):
    outside = tmp_path / "outside.ckpt"
    shutil.copy(received / CHECKPOINT, outside)
    record = json.loads((received / "results.json").read_text())
    record["best_checkpoint"] = f"../{outside.name}"
    (received / "results.json").write_text(json.dumps(record))
    from vae_exp.runs.checkpoints import resolve_run

    folder, checkpoint, _ = resolve_run(received)
    assert checkpoint.is_relative_to(folder)


def test_user_errors_are_one_line_for_the_api(received):
    (received / "config.yaml").write_text("!!python/name:os.system\n")
    import vae_exp

    with pytest.raises(UserError, match=r"config\.yaml cannot be read as a saved config"):
        vae_exp.load_run(received)
