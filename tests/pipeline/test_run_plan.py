"""One path through a run: `prepare` checks once and takes the folder, `execute` trains it,
and the Python API resumes as the command does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import vae_exp
from vae_exp.pipeline import checks
from vae_exp.pipeline.plan import RunFinished, prepare
from vae_exp.runs.checkpoints import load_vae
from vae_exp.runs.claims import is_locked

from conftest import TINY_RUN


def _quiet(data_dir: Path, *overrides: str) -> list[str]:
    return [f"data.data_dir={data_dir}", *TINY_RUN, "logger=none", "callbacks=none", *overrides]


def test_the_api_resumes_a_run_and_refuses_a_changed_experiment(tmp_path, small_mnist_dir):
    run_dir = tmp_path / "run"
    first = vae_exp.fit(vae_exp.compose([f"paths.run_dir={run_dir}", *_quiet(small_mnist_dir)]))
    assert first["epochs"] == 1 and not is_locked(run_dir)

    longer = vae_exp.compose([*_quiet(small_mnist_dir), "trainer.max_epochs=2"])
    resumed = vae_exp.fit(longer, resume=run_dir)
    assert resumed["status"] == "completed" and resumed["epochs"] == 2
    assert Path(resumed["run_dir"]) == run_dir.resolve()
    assert json.loads((run_dir / "results.json").read_text())["epochs"] == 2

    with pytest.raises(vae_exp.UserError, match=r"kl_weight \(run: 0.0005, asked: 0.001\)"):
        vae_exp.fit(vae_exp.compose([*_quiet(small_mnist_dir), "kl_weight=1e-3"]), resume=run_dir)
    with pytest.raises(RunFinished, match="has finished all 2 epochs"):
        vae_exp.fit(longer, resume=run_dir)
    assert json.loads((run_dir / "results.json").read_text())["epochs"] == 2  # nothing changed


def test_a_run_checks_its_config_once(tmp_path, small_mnist_dir, monkeypatch):
    calls = []
    real = checks.check_train_config
    monkeypatch.setattr(
        "vae_exp.pipeline.plan.check_train_config", lambda cfg: calls.append(1) or real(cfg)
    )
    vae_exp.fit(vae_exp.compose([f"paths.run_dir={tmp_path / 'run'}", *_quiet(small_mnist_dir)]))
    assert len(calls) == 1


def test_the_plan_holds_the_folder_until_released(tmp_path):
    cfg = vae_exp.compose([f"paths.run_dir={tmp_path / 'run'}"])
    plan = prepare(cfg)
    assert plan.folder == tmp_path / "run" and is_locked(plan.folder) and plan.resume_from is None
    with pytest.raises(vae_exp.UserError, match="another run has just claimed it"):
        prepare(cfg)
    plan.release()
    assert not is_locked(plan.folder)


def test_a_bad_setting_is_refused_before_any_folder_is_made(tmp_path):
    with pytest.raises(vae_exp.UserError, match="latent_dim"):
        prepare(vae_exp.compose([f"paths.run_dir={tmp_path / 'run'}", "latent_dim=0"]))
    assert not (tmp_path / "run").exists()


def test_the_record_says_which_process_settings_were_applied(tmp_path, small_mnist_dir):
    record = vae_exp.fit(
        vae_exp.compose([f"paths.run_dir={tmp_path / 'run'}", *_quiet(small_mnist_dir)])
    )
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["process_settings"] == record["process_settings"]
    assert saved["process_settings"]["flush_denormals"] is True
    assert set(saved["process_settings"]) == {
        "flush_denormals",
        "reuse_freed_memory",
        "skip_missing_nvml",
    }


def test_a_checkpoint_of_the_earlier_layout_still_loads(tmp_path):
    """Checkpoints written when the VAE held kl_weight (not its ELBO) load with that weight."""
    from hydra.utils import instantiate

    model = instantiate(vae_exp.compose(["kl_weight=2e-3"]).model)
    hyper_parameters = dict(model.hparams)
    assert hyper_parameters["objective"]["kl_weight"] == 2e-3
    hyper_parameters["objective"] = {"_target_": "vae_exp.models.objectives.ELBO"}
    hyper_parameters["kl_weight"] = 2e-3
    path = tmp_path / "old.ckpt"
    torch.save({"hyper_parameters": hyper_parameters, "state_dict": model.state_dict()}, path)
    loaded = load_vae(path)
    assert loaded.kl_weight == 2e-3
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded.eval()(x), model.eval()(x))
