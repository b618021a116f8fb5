"""A search space in Hydra's sweep syntax, as Optuna distributions.

`hydra.sweeper.params` and the command line name the space the same way:
`choice(2, 4, 8)`, `range(1, 10)`, `interval(1e-5, 1e-2)`, and the tags
`tag(log, ...)` (a log-uniform draw) and `tag(int, ...)` (whole numbers). A
setting given one value is held fixed for every trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
)
from hydra.errors import OverrideParseException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from vae_exp.foundation.errors import ConfigError

_PARSER = OverridesParser.create()


@dataclass(frozen=True)
class SearchSpace:
    """The searched settings (name -> distribution) and the fixed ones (name -> override text)."""

    searched: dict[str, BaseDistribution]
    fixed: dict[str, str]

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The command-line overrides of a trial with the drawn `params`."""
        drawn = [f"{name}={override_value(value)}" for name, value in params.items()]
        return [f"{name}={value}" for name, value in self.fixed.items()] + drawn


def override_value(value: Any) -> str:
    """A drawn value as the command line writes it (a float keeps all its digits)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _parses_as(text, text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _parses_as(text: str, value: str) -> bool:
    """Whether `key=<text>` on the command line gives the string `value` back."""
    try:
        (parsed,) = _PARSER.parse_overrides([f"key={text}"])
    except Exception:
        return False
    return not parsed.is_sweep_override() and parsed.value() == value


def search_space(params: Mapping[str, Any] | None, command_line: list[str]) -> SearchSpace:
    """The space of `hydra.sweeper.params`, with the command line's sweeps and values over it.

    Raises ConfigError for a sweep Optuna cannot draw from (a glob, an open interval).
    """
    lines = [f"{name}={value}" for name, value in (params or {}).items()] + list(command_line)
    searched: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    try:
        overrides = _PARSER.parse_overrides(lines)
    except OverrideParseException as error:
        first = str(error).splitlines()[0]
        raise ConfigError(
            "hydra.sweeper.params", dict(params or {}), f"Hydra's sweep syntax ({first})"
        ) from None
    for override in overrides:
        name = override.get_key_element()
        searched.pop(name, None)
        fixed.pop(name, None)
        if override.is_sweep_override():
            searched[name] = distribution(override)
        else:
            fixed[name] = override.get_value_element_as_str()
    return SearchSpace(searched, fixed)


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one swept setting."""
    value = override.value()
    name = override.get_key_element()
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        choices = list(override.sweep_iterator())
        if not all(isinstance(c, (str, int, float, bool, type(None))) for c in choices):
            raise ConfigError(name, override.get_value_element_as_str(), "choices of plain values")
        return CategoricalDistribution(choices)
    if isinstance(value, RangeSweep):
        numbers = (value.start, value.stop, value.step)
        if any(isinstance(n, float) for n in numbers):
            return FloatDistribution(value.start, value.stop - value.step, step=value.step)
        return IntDistribution(int(value.start), int(value.stop) - 1, step=int(value.step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if "int" in value.tags:
            return IntDistribution(int(value.start), int(value.end), log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    given = (override.input_line or "").partition("=")[2] or override.get_value_element_as_str()
    raise ConfigError(
        name,
        given,
        "a sweep Optuna can draw from: choice(...), range(...) or interval(...)",
    )
