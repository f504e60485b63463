"""The batch prediction use case: a typed request in, the typed batch out, as the job kind answers it."""

from __future__ import annotations

import pytest

from pipelines.app.predict import BatchPredictionRequest, predict_batch
from pipelines.errors import DataNotFoundError
from pipelines.settings import Settings


def test_predict_batch_answers_each_symbol_of_a_typed_request(trained_home: Settings) -> None:
    request = BatchPredictionRequest("lgbm_aapl", ("AAPL", "MSFT", "not a symbol!"))
    batch = predict_batch(trained_home, request)
    assert batch.model_name == "lgbm_aapl"
    assert [p.symbol for p in batch.predictions] == ["AAPL", "MSFT"]
    assert [(e.symbol, e.code) for e in batch.errors] == [("not a symbol!", "INVALID_SYMBOL")]
    assert batch.summary()["total"] == 3


def test_predict_batch_names_an_unknown_model(trained_home: Settings) -> None:
    with pytest.raises(DataNotFoundError, match="ghost"):
        predict_batch(trained_home, BatchPredictionRequest("ghost", ("AAPL",)))
