"""The search space in Hydra's sweep syntax, as Optuna draws from it, and the study's settings."""

from __future__ import annotations

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from vae_exp.foundation.errors import ConfigError
from vae_exp.sweeps.search_space import override_value, search_space
from vae_exp.sweeps.study import StudySettings, count_taken, is_beyond_total, pruner


def test_the_preset_s_space_becomes_optuna_distributions():
    space = search_space(
        {
            "kl_weight": "tag(log, interval(1e-5, 1e-2))",
            "latent_dim": "choice(2, 4, 8, 16)",
            "network.width": "range(8, 33, 8)",
            "trainer.max_epochs": "tag(int, interval(1, 5))",
        },
        ["seed=3"],
    )
    assert space.searched == {
        "kl_weight": FloatDistribution(1e-5, 1e-2, log=True),
        "latent_dim": CategoricalDistribution([2, 4, 8, 16]),
        "network.width": IntDistribution(8, 32, step=8),
        "trainer.max_epochs": IntDistribution(1, 5),
    }
    assert space.fixed == {"seed": "3"}


def test_the_command_line_overrides_the_preset_s_space():
    space = search_space(
        {"kl_weight": "interval(0.1, 0.2)", "latent_dim": "choice(2, 4)"},
        ["kl_weight=0.5", "optimizer.lr=interval(1e-4, 1e-3)"],
    )
    assert set(space.searched) == {"latent_dim", "optimizer.lr"}
    assert space.fixed == {"kl_weight": "0.5"}


def test_a_trial_s_overrides_keep_every_digit_and_quote_strings():
    space = search_space({"optimizer": "choice(adam, sgd)"}, ["trainer.max_epochs=2"])
    lines = space.overrides({"kl_weight": 0.006149619971126093, "optimizer": "adam", "x": True})
    assert lines == [
        "trainer.max_epochs=2",
        "kl_weight=0.006149619971126093",
        "optimizer=adam",
        "x=true",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "sqlite:////tmp/a b/study.db",
        "postgresql://u:p@host/db?x=1,y=2",
        "it's",
        "a\\b",
        "1e-3",
        "null",
    ],
)
def test_a_string_reads_back_the_same_from_the_command_line(text):
    (parsed,) = OverridesParser.create().parse_overrides([f"key={override_value(text)}"])
    assert parsed.value() == text


@pytest.mark.parametrize(
    ("sweep", "setting"),
    [("glob(*)", "kl_weight"), ("interval(1, 2, 3)", "hydra.sweeper.params")],
)
def test_a_sweep_optuna_cannot_draw_from_is_refused(sweep, setting):
    with pytest.raises(ConfigError) as refused:
        search_space({"kl_weight": sweep}, [])
    assert refused.value.setting == setting


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("direction", "down", "minimize or maximize"),
        ("n_trials", 0, "a whole number >= 1"),
        ("pruner", "early", "none, median or hyperband"),
        ("grace_period", 30, "more seconds than hydra.sweeper.heartbeat_interval (60)"),
    ],
)
def test_study_settings_are_checked_in_one_line(setting, value, allowed):
    values = {"study_name": "s", "storage": None, "direction": "minimize", "n_trials": 4}
    with pytest.raises(ConfigError) as refused:
        StudySettings(**{**values, setting: value}).check()
    assert str(refused.value) == f"hydra.sweeper.{setting}={value!r} is not allowed: {allowed}"


def test_pruner_settings_name_the_pruner_s_own():
    assert pruner("median", {"n_warmup_steps": 2})._n_warmup_steps == 2
    with pytest.raises(ConfigError, match="settings of hyperband: min_resource"):
        pruner("hyperband", {"warmup": 2})


def test_the_lower_trial_number_keeps_the_last_place():
    study = optuna.create_study()
    for _ in range(3):
        study.tell(study.ask(), 1.0)
    racing = [study.ask(), study.ask()]  # two workers asked in the same instant
    assert count_taken(study.get_trials()) == 5
    assert [is_beyond_total(study, t.number, 4) for t in racing] == [False, True]
    failed = study.ask()
    study.tell(failed, state=optuna.trial.TrialState.FAIL)  # no job ran: it does not count
    assert count_taken(study.get_trials()) == 5
