"""One parser of a parameter's values for sweeps and optimization: each front end keeps its syntax
(a sweep runs every value of a range, a search draws from it) and a bad text gets the same answer
from both."""

from __future__ import annotations

import pytest

from pipelines.backtest.param_space import parse_dimension, parse_space
from pipelines.backtest.param_values import ValueText, parse_value_text
from pipelines.backtest.sweep_grid import parse_values
from pipelines.errors import InvalidRequestError


def test_the_text_is_read_once_for_both() -> None:
    assert parse_value_text("x", " 5:8 ") == ValueText(5.0, 8.0, None)
    assert parse_value_text("x", "1:2:0.25") == ValueText(1.0, 2.0, 0.25)
    assert parse_value_text("x", "3, 1,2,3,") == ValueText(choices=(3.0, 1.0, 2.0))
    assert parse_value_text("n", "3:9:2", int) == ValueText(3, 9, 2)


def test_a_sweep_runs_every_value_of_a_range() -> None:
    assert parse_values("x", "5:8") == [5.0, 6.0, 7.0, 8.0]
    assert parse_values("x", "1:2:0.25") == [1.0, 1.25, 1.5, 1.75, 2.0]
    assert parse_values("x", "0.1:0.3:0.1") == [0.1, 0.2, 0.3]
    assert parse_values("x", "3, 1,2") == [3.0, 1.0, 2.0]
    assert parse_values("x", [5, 10]) == [5, 10] and parse_values("x", 7) == [7]


def test_a_search_draws_from_a_range() -> None:
    fast = parse_dimension("fast", "3:30", int)
    assert (fast.low, fast.high, fast.step, fast.choices) == (3, 30, 1, None)
    nbdev = parse_dimension("nbdev", "1.0:2.0", float)
    assert nbdev.step is None and (nbdev.low, nbdev.high) == (1.0, 2.0)  # continuous
    assert parse_dimension("nbdev", "1.0:2.0:0.3", float).high == pytest.approx(1.9)  # whole steps
    assert parse_dimension("fast", "5,10,5", int).choices == (5, 10)
    space = parse_space("sma_cross", {"fast": "5:50", "slow": "20:200:5"})
    assert space["slow"].describe() == {"low": 20, "high": 200, "step": 5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9:3", "ends below its start"),
        ("1:9:0", "the step must be > 0"),
        ("1:2:3:4", "a range is low:high or low:high:step"),
        ("5:x", "'x' is not a number"),
        (" , ", "has no values"),
        ("1:inf", "is not finite"),
    ],
)
def test_a_bad_text_gets_the_same_answer_from_both(text: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as swept:
        parse_values("nbdev", text)
    with pytest.raises(InvalidRequestError, match=message) as searched:
        parse_dimension("nbdev", text, float)
    assert str(swept.value) == str(searched.value)


def test_an_integer_parameter_is_searched_over_integers() -> None:
    with pytest.raises(InvalidRequestError, match=r"'2\.5' is not an integer"):
        parse_dimension("fast", "2.5:9", int)
    with pytest.raises(InvalidRequestError, match="is not numeric"):
        parse_dimension("flag", "1:2", bool)
