"""Names are printable text: control characters and surrounding whitespace are refused where a name
is taken, and a stored name that has them still prints as one escaped table cell."""

from __future__ import annotations

import pytest
from rich.console import Console

from pipelines.cli.tables import models_table, safe_cell
from pipelines.data.symbols import parse_symbol
from pipelines.errors import InvalidRequestError, InvalidSymbolError
from pipelines.models.summaries import ModelSummary
from pipelines.names import check_name

BAD = [
    "nl_model\n",
    "tab\tname",
    "esc\x1b[31m",
    " lead",
    "trail ",
    "zero\u200bwidth",
    "rtl\u202eevil",
    "nul\x00",
]


@pytest.mark.parametrize("value", BAD)
def test_check_name_refuses_and_names_the_field(value: str) -> None:
    with pytest.raises(InvalidRequestError, match="model_name"):
        check_name(value, "model_name")


def test_check_name_keeps_a_good_name() -> None:
    assert check_name("Mein Datensatz ü 1", "name") == "Mein Datensatz ü 1"
    with pytest.raises(InvalidRequestError, match="at most 5"):
        check_name("toolong", "name", max_length=5)


@pytest.mark.parametrize("raw", ["SPY\n", "SPY\r\n", " SPY", "BTC/USDT\t", "AA\x00PL"])
def test_parse_symbol_refuses_control_characters_and_padding(raw: str) -> None:
    with pytest.raises(InvalidSymbolError, match="symbol"):
        parse_symbol(raw)
    assert parse_symbol(raw.strip().replace("\x00", "")).name in {"SPY", "BTC/USDT", "AAPL"}


def test_plan_training_refuses_a_trailing_newline(settings: object) -> None:
    from pipelines.models.training import plan_training

    with pytest.raises(InvalidRequestError, match="model_name"):
        plan_training(settings, model_type="simple", model_name="nl_model\n", symbol="AAPL")  # type: ignore[arg-type]


def test_a_stored_bad_name_prints_as_one_escaped_cell() -> None:
    model = ModelSummary("nl_model\n[red]x", "simple", "SPY", "1d", "cpu", 1, "1", "1")
    console = Console(width=200, record=True, color_system=None)
    console.print(models_table([model]))
    text = console.export_text()
    assert "nl_model\\n[red]x" in text
    assert len([line for line in text.splitlines() if "simple" in line]) == 1
    assert safe_cell("plain") == "plain"


@pytest.mark.parametrize("dataset", ["AAPL\n", " yfinance:AAPL@1d", "AAPL@1d\t"])
def test_a_dataset_reference_with_control_characters_or_padding_is_refused(dataset: str) -> None:
    from pipelines.app.train import parse_dataset

    with pytest.raises(InvalidRequestError, match="dataset"):
        parse_dataset(dataset)
    assert parse_dataset(dataset.strip())[1] == "AAPL"
