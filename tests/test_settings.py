"""Settings groups: every flat TRADEFORGE_* variable, keyword and model_copy key lands in its group."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from pipelines.settings import Settings, SettingsGroup, UniverseEntry, field_groups

# Every grouped field: the value its flat environment variable is given, and what it must read as.
ENV_CASES: dict[str, tuple[str, Any]] = {
    "universe": (
        '[{"symbol": "SPY", "source": "yfinance", "timeframes": ["1d"]}]',
        [UniverseEntry(symbol="SPY", source="yfinance", timeframes=["1d"])],
    ),
    "history_start": ("2020-02-03", "2020-02-03"),
    "synthetic_seed": ("7", 7),
    "stock_source": ("yfinance", "yfinance"),
    "crypto_source": ("ccxt", "ccxt"),
    "ccxt_exchange": ("kraken", "kraken"),
    "provider_max_retries": ("9", 9),
    "provider_backoff_seconds": ("0.5", 0.5),
    "feature_cache_ttl_seconds": ("1.5", 1.5),
    "benchmark_symbol": ("SPY", "SPY"),
    "backtest_benchmark_symbol": ("SPY", "SPY"),
    "cors_origins": ('["https://a.example"]', ["https://a.example"]),
    "trusted_proxies": ("10.0.0.1, 192.168.0.0/16", ["10.0.0.1", "192.168.0.0/16"]),
    "health_cache_seconds": ("9", 9.0),
    "metrics_token": ("tok", "tok"),
    "webhook_allow_private_urls": ("true", True),
    "environment": ("production", "production"),
    "access_token_minutes": ("11", 11),
    "refresh_token_days": ("3", 3),
    "user_state_cache_seconds": ("0.25", 0.25),
    "stream_recheck_seconds": ("12", 12.0),
    "login_max_failures": ("8", 8),
    "login_failure_window_seconds": ("60", 60),
    "login_backoff_seconds": ("2", 2.0),
    "login_backoff_max_seconds": ("20", 20.0),
    "rate_limits": ('{"free": 5, "pro": null}', {"free": 5, "pro": None}),
    "rate_limit_window_seconds": ("60", 60),
    "default_tier": ("pro", "pro"),
    "max_bars_per_request": ("5000", 5000),
    "max_walk_forward_folds": ("7", 7),
    "sweep_max_combinations": ("9", 9),
    "optimize_max_trials": ("9", 9),
    "max_symbols_per_request": ("3", 3),
    "max_response_points": ("50", 50),
    "live_speed": ("60", 60.0),
    "live_timeframe": ("5m", "5m"),
    "live_symbols": ('["AAPL"]', ["AAPL"]),
    "live_follow_max": ("3", 3),
    "ws_queue_size": ("4", 4),
    "dataset_max_upload_mb": ("2", 2),
    "dataset_max_unzipped_mb": ("3", 3),
    "image_height": ("32", 32),
    "image_width": ("48", 48),
    "image_max_count": ("100", 100),
    "image_max_pixels": ("1000000", 1_000_000),
    "result_files_days": ("5", 5),
    "automations_running": ("false", False),
    "max_training_jobs_per_user": ("2", 2),
    "max_predict_batch": ("50", 50),
    "predict_cache_models": ("3", 3),
    "forecast_steps": ("12", 12),
    "forecast_days_history": ("9", 9),
    "forecast_params": ('{"n_estimators": 5}', {"n_estimators": 5}),
    "exchange_timeout_seconds": ("3.5", 3.5),
    "exchange_sync_max_pages": ("7", 7),
    "exchange_api_urls": ('{"binance": "http://127.0.0.1:9"}', {"binance": "http://127.0.0.1:9"}),
    "max_exchange_keys_per_user": ("4", 4),
    "quote_asset": ("USDC", "USDC"),
    "allow_live_trading": ("true", True),
    "inference_url": ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    "inference_timeout_seconds": ("2.5", 2.5),
    "inference_retries": ("0", 0),
    "inference_pool_size": ("8", 8),
    "inference_alias_seconds": ("0.5", 0.5),
    "paper_initial_balance": ("500.5", Decimal("500.5")),
    "paper_commission": ("0.002", 0.002),
    "paper_slippage": ("0.0001", 0.0001),
    "paper_lot_size": ("0.001", Decimal("0.001")),
    "paper_tick_size": ("0.01", Decimal("0.01")),
    "paper_timeframe": ("1h", "1h"),
    "dagster_instance": ("postgres", "postgres"),
    "dagster_pg_url": ("postgresql://pg:5432/dagster", "postgresql://pg:5432/dagster"),
    "dagster_executor": ("celery", "celery"),
    "dagster_celery_broker_url": ("amqp://mq:5672//", "amqp://mq:5672//"),
    "dagster_celery_backend_url": ("redis://cache:6379/1", "redis://cache:6379/1"),
    "dagster_celery_queue": ("steps", "steps"),
    "dagster_gpu_queue": ("cuda", "cuda"),
    "job_broker_url": ("amqp://mq:5672//", "amqp://mq:5672//"),
    "job_queue": ("api-jobs", "api-jobs"),
    "job_heartbeat_seconds": ("5", 5.0),
    "job_stale_seconds": ("30", 30.0),
    "data_url": ("s3://bucket/prefix/", "s3://bucket/prefix"),
    "s3_endpoint_url": ("http://minio:9000", "http://minio:9000"),
    "s3_region": ("eu-west-1", "eu-west-1"),
}


def _grouped(settings: Settings, name: str) -> Any:
    return getattr(getattr(settings, field_groups()[name]), name)


def test_the_groups_are_the_documented_ones() -> None:
    groups = set(field_groups().values())
    assert groups == {
        "data", "serving", "auth", "limits", "live", "uploads", "jobs", "learning", "forecast", "exchanges",
        "paper", "inference", "dagster", "storage",
    }  # fmt: skip
    top_level = set(Settings.model_fields) - groups
    assert top_level == {
        "home",
        "database_url",
        "mlflow_tracking_uri",
        "redis_url",
        "secret_key",
        "encryption_key",
        "champion_min_psr",  # the model registry's champion rule (no group of its own yet)
    }
    assert not top_level & set(field_groups()), "a grouped field shares its name with a top-level one"


def test_every_flat_env_var_lands_in_its_group(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert set(ENV_CASES) == set(field_groups()), "each grouped field needs an environment case here"
    defaults = Settings(home=tmp_path)
    for name, (raw, _) in ENV_CASES.items():
        monkeypatch.setenv(f"TRADEFORGE_{name.upper()}", raw)
    monkeypatch.setenv("TRADEFORGE_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("TRADEFORGE_REDIS_URL", "redis://localhost:6379/3")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    settings = Settings()
    for name, (_, expected) in ENV_CASES.items():
        assert _grouped(settings, name) == expected, name
        assert _grouped(defaults, name) != expected, f"{name}: the case must differ from the default"
    assert settings.home == tmp_path / "env-home"
    assert settings.redis_url == "redis://localhost:6379/3"
    assert settings.mlflow_tracking_uri == "sqlite:///elsewhere.db"


def test_env_values_are_validated_in_their_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEFORGE_MAX_BARS_PER_REQUEST", "10")  # under the minimum of 1000
    with pytest.raises(ValidationError, match="max_bars_per_request"):
        Settings()


def test_flat_keywords_land_in_their_group_and_beat_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRADEFORGE_LIVE_SPEED", "3")
    monkeypatch.setenv("TRADEFORGE_LIVE_TIMEFRAME", "5m")
    settings = Settings(home=tmp_path, live_speed=2.0, max_bars_per_request=5_000, history_start="2021-01-01")
    assert settings.live.live_speed == 2.0
    assert settings.live.live_timeframe == "5m"  # the environment still fills the rest of the group
    assert settings.limits.max_bars_per_request == 5_000
    assert settings.data.history_start == "2021-01-01"
    assert settings.home == tmp_path


def test_nested_form_and_flat_form_agree(tmp_path: Path) -> None:
    nested = Settings(home=tmp_path, limits={"max_bars_per_request": 5_000}, data={"synthetic_seed": 3})
    flat = Settings(home=tmp_path, max_bars_per_request=5_000, synthetic_seed=3)
    assert nested == flat
    mixed = Settings(home=tmp_path, data={"synthetic_seed": 3}, history_start="2022-01-01")
    assert (mixed.data.synthetic_seed, mixed.data.history_start) == (3, "2022-01-01")


def test_keywords_are_validated_and_groups_refuse_unknown_fields(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="max_bars_per_request"):
        Settings(home=tmp_path, max_bars_per_request=10)
    with pytest.raises(ValidationError, match="max_bars_per_requests"):
        Settings(home=tmp_path, limits={"max_bars_per_requests": 5_000})


def test_model_copy_routes_flat_keys_into_a_copy_of_the_group(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    update = {"ws_queue_size": 4, "redis_url": "redis://x", "access_token_minutes": 5}
    copy = settings.model_copy(update=update)
    assert copy.live.ws_queue_size == 4
    assert copy.auth.access_token_minutes == 5
    assert copy.redis_url == "redis://x"
    assert settings.live.ws_queue_size == 256  # the original is untouched
    assert settings.auth.access_token_minutes == 30
    assert copy.live.live_timeframe == settings.live.live_timeframe
    with pytest.raises(ValidationError):
        settings.model_copy(update={"max_bars_per_request": 10})


def _models() -> list[type[BaseModel]]:
    groups = [info.annotation for info in Settings.model_fields.values()]
    grouped = [g for g in groups if isinstance(g, type) and issubclass(g, SettingsGroup)]
    return [Settings, UniverseEntry, *grouped]


@pytest.mark.parametrize("model", _models(), ids=lambda model: model.__name__)
def test_every_field_has_a_one_line_description(model: type[BaseModel]) -> None:
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name} has no description"
        assert "\n" not in info.description.strip(), f"{model.__name__}.{name}: description is not one line"
