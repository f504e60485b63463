"""Credentials never shown: URL passwords and credential query parameters are masked."""

from __future__ import annotations

import pytest

from pipelines.redaction import redact_query_values, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://u:p@h:1/0", "redis://u:***@h:1/0"),
        (
            "postgresql://app@db:5432/tf?password=hunter2&sslmode=require",
            "postgresql://app@db:5432/tf?password=***&sslmode=require",
        ),
        ("https://mlflow.example/api?token=abc&run=1", "https://mlflow.example/api?token=***&run=1"),
        (
            "s3://bucket/x?aws_secret_access_key=SECRET&region=eu",
            "s3://bucket/x?aws_secret_access_key=***&region=eu",
        ),
        ("redis://:pw@h/0?api_key=k1", "redis://:***@h/0?api_key=***"),
        ("sqlite:////home/tf/app.db", "sqlite:////home/tf/app.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_query_values_in_a_log_line() -> None:
    line = '127.0.0.1:5 - "WebSocket /api/v1/ws/live?symbols=AAPL&api_key=tf_x&access_token=ey.J" [accepted]'
    masked = redact_query_values(line)
    assert (
        masked
        == '127.0.0.1:5 - "WebSocket /api/v1/ws/live?symbols=AAPL&api_key=***&access_token=***" [accepted]'
    )
    assert redact_query_values("/ws?token=") == "/ws?token="  # nothing to mask
