"""Every served prediction's log row records the version of the data its features came from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pipelines.db.models import PredictionLog
from tests.serving_support import make_user


def test_a_logged_prediction_records_its_data_version(client: Any) -> None:
    user = make_user(client)
    answer = client.post(
        "/api/v1/predictions/predict", json={"model_name": "lgbm_aapl"}, headers=user["headers"]
    )
    assert answer.status_code == 200, answer.text
    assert "data_version" not in answer.json()  # the documented answer keeps its shape
    container = client.app.state.container
    assert container.log_writer.flush()
    with container.database.session() as session:
        row = session.scalars(select(PredictionLog).where(PredictionLog.user_id == user["id"])).one()
    served = container.predictions.predict("lgbm_aapl", None, None)  # the same cached feature rows
    assert served.data_version is not None and len(served.data_version.content_hash) == 32
    assert row.data_version == served.data_version.content_hash
