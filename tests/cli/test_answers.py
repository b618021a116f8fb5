"""Which answers are kept between calls, and what their key covers."""

from __future__ import annotations

import io
import json
import os

import pytest

from vae_exp.cli import answers


@pytest.mark.parametrize(
    ("arguments", "kept"),
    [
        (["--help"], True),
        (["kl_weight=1e-3", "-h"], True),
        (["--cfg", "job"], True),
        (["--cfg=job", "optimizer=adam"], True),
        (["-sc", "query=bash"], True),
        (["--shell-completion", "install=bash"], True),
        (["--cfg", "hydra"], False),  # holds the run's folder and time
        (["--cfg", "job", "--resolve"], False),  # resolvers read the clock and the environment
        (["--info"], False),
        (["--experimental-rerun", "config.pickle", "--help"], False),
        (["--help", "hydra.searchpath=[file:///elsewhere]"], False),
        (["kl_weight=1e-3"], False),  # a run
        ([], False),
    ],
)
def test_only_answers_that_print_the_configs_are_kept(arguments, kept):
    assert answers.only_prints(arguments) is kept


def test_the_key_covers_the_arguments_the_environment_and_a_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "my_configs"
    folder.mkdir()
    preset = folder / "mine.yaml"
    preset.write_text("latent_dim: 2\n")
    arguments = ["--cfg", "job", "--config-dir", str(folder)]
    key = answers.answer_key("train", arguments)
    assert answers.answer_key("train", arguments) == key
    assert answers.answer_key("explore", arguments) != key
    assert answers.answer_key("train", [*arguments, "latent_dim=3"]) != key
    with monkeypatch.context() as changed:  # a setting read from the environment
        changed.setenv("VAE_EXP_DATA_DIR", str(tmp_path / "elsewhere"))
        assert answers.answer_key("train", arguments) != key
    assert answers.answer_key("train", arguments) == key
    stat = preset.stat()
    os.utime(preset, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert answers.answer_key("train", arguments) != key


def test_a_kept_answer_is_replayed_and_a_broken_one_is_answered_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv(answers.CACHE_VARIABLE, str(tmp_path))
    calls = []

    def answer() -> None:
        calls.append(1)
        print("the answer")

    for _ in range(2):
        out = io.StringIO()
        monkeypatch.setattr("sys.stdout", out)
        answers.answer_once("train", ["--help"], answer)
        assert out.getvalue() == "the answer\n"
    assert len(calls) == 1
    (kept,) = tmp_path.glob("*.json")
    assert json.loads(kept.read_text()) == {"stdout": "the answer\n", "stderr": ""}
    kept.write_text("{not json")
    monkeypatch.setattr("sys.stdout", io.StringIO())
    answers.answer_once("train", ["--help"], answer)
    assert len(calls) == 2


def test_nothing_is_kept_when_turned_off_or_when_the_answer_fails(tmp_path, monkeypatch):
    monkeypatch.setenv(answers.CACHE_VARIABLE, "off")
    assert answers.cache_folder() is None
    monkeypatch.setenv(answers.CACHE_VARIABLE, str(tmp_path))

    def refuse() -> None:
        print("error: no", flush=True)
        raise SystemExit(1)

    with pytest.raises(SystemExit) as stop:
        answers.answer_once("train", ["--help", "oops=1"], refuse)
    assert stop.value.code == 1 and not list(tmp_path.iterdir())


def test_the_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(answers.CACHE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert answers.cache_folder() == tmp_path / "vae-exp" / "cli"
