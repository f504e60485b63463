"""Request bodies (msgspec: validated while decoding, unknown fields rejected with their name).

Where the two client styles name one thing differently, both spellings are accepted (``model`` and
``model_name``; ``parameters`` and ``params``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import msgspec

from pipelines.app.accounts import USERNAME_PATTERN
from pipelines.app.optimize_plan import STUDY_NAME_PATTERN
from pipelines.backtest.strategies import strategy_spellings
from pipelines.backtest.sweep import OBJECTIVES
from pipelines.data.providers import SOURCE_SPELLINGS
from pipelines.data.timeframes import TIMEFRAME_SPELLINGS
from pipelines.features.sets import FEATURE_SETS
from pipelines.models.base import ModelKind
from pipelines.models.training import MODEL_NAME_PATTERN
from pipelines.webhooks.events import EVENTS
from serving.param_fields import (
    OLD_NAME_OF_GRID,
    OLD_NAME_OF_PARAMS,
    FixedParams,
    ParamName,
    RangeText,
    SearchSpace,
    SweepValues,
)

__all__ = [
    "MAX_PAGE",
    "ApiKeyCreate",
    "BacktestRun",
    "BatchPredict",
    "Compare",
    "EnsemblePredict",
    "Login",
    "Optimize",
    "Predict",
    "Refresh",
    "Register",
    "SignalPredict",
    "Sweep",
    "Train",
    "WalkForward",
    "WebhookCreate",
    "check_free_form",
    "job_params",
]

# The highest page number a list route accepts: beyond it the offset outgrows a 64-bit SQL integer.
MAX_PAGE = 1_000_000


def one_of(values: Any) -> Any:
    """``Literal[...]`` of ``values``: the server refuses anything else, and the spec lists them.

    Built at run time from the registries, so the type checker sees such an alias as ``str``."""
    return Literal.__getitem__(tuple(values))


# Strict booleans: Litestar converts bodies leniently (0, 1, "true" would pass as bool); a Literal of
# the two values accepts JSON true and false only, and is documented as a boolean enum.
StrictBool = Literal[True, False]
Symbol = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=40,
        pattern=r"^\^?[A-Za-z0-9][A-Za-z0-9./_=-]*$",
        examples=["AAPL", "BTC/USDT"],
        description="A ticker (AAPL, ^GSPC, EURUSD=X) or a crypto pair (BTC/USDT, BTC_USDT, BTCUSDT)",
    ),
]
Name = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=MODEL_NAME_PATTERN, examples=["lgbm_aapl"])
]
# No control characters, no whitespace at either end (the server checks invisible formatting too).
PRINTABLE_NAME = r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
if TYPE_CHECKING:
    ModelType: TypeAlias = str
    Timeframe: TypeAlias = str
    Source: TypeAlias = str
    Strategy: TypeAlias = str
    Objective: TypeAlias = str
    FeatureSet: TypeAlias = str
    WebhookEvent: TypeAlias = str
else:
    ModelType = one_of(k.value for k in ModelKind)
    Timeframe = one_of(TIMEFRAME_SPELLINGS)
    Source = one_of(SOURCE_SPELLINGS)
    Strategy = one_of(strategy_spellings())
    Objective = one_of(sorted(OBJECTIVES))
    FeatureSet = one_of(FEATURE_SETS)
    WebhookEvent = one_of(EVENTS)
Date = Annotated[str, msgspec.Meta(min_length=4, max_length=40, examples=["2023-01-01"])]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


# Free-form objects (strategy ``params``, model ``parameters``) hold at most this much: hyperparameters
# are a flat object or a shallow one, and deeper JSON would only make the server recurse.
MAX_FREE_FORM_DEPTH = 8
MAX_FREE_FORM_ITEMS = 1_000


def check_free_form(field: str, value: Any) -> None:
    """A ValueError naming ``field`` when ``value`` nests deeper or holds more than the limits above
    (walked without recursion, so any depth is safe to check)."""
    if value is None:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    items = 0
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            items += 1
            if items > MAX_FREE_FORM_ITEMS:
                raise ValueError(f"{field} holds more than {MAX_FREE_FORM_ITEMS} values")
            if isinstance(child, dict | list):
                if depth + 1 > MAX_FREE_FORM_DEPTH:
                    raise ValueError(f"{field} nests deeper than {MAX_FREE_FORM_DEPTH} levels")
                stack.append((child, depth + 1))


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Register(_Body, kw_only=True):
    username: Annotated[
        str, msgspec.Meta(min_length=3, max_length=64, pattern=USERNAME_PATTERN, examples=["alice"])
    ]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    email: str | None = None
    full_name: str | None = None


class Login(_Body, kw_only=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["alice"])]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Refresh(_Body, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1)]


class ApiKeyCreate(_Body, kw_only=True):
    name: Annotated[
        str, msgspec.Meta(min_length=1, max_length=100, pattern=PRINTABLE_NAME, examples=["trading-bot"])
    ]


class UserUpdate(_Body, kw_only=True):
    """An admin's change to an account: enable or disable it, or change its role."""

    is_active: bool | None = None
    role: Literal["user", "admin"] | None = None


class Train(_Body, kw_only=True):
    """Both client styles' fields: (model_type, dataset, parameters, validation_split, gpu_enabled)
    and (model_type, model_name, symbol, start_date, end_date)."""

    model_type: Annotated[ModelType, msgspec.Meta(examples=["lightgbm"])]
    model_name: Name | None = None
    symbol: Symbol | None = None
    dataset: Annotated[str, msgspec.Meta(examples=["AAPL", "synthetic/1d/AAPL"])] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    timeframe: Timeframe = "1d"
    source: Source | None = None
    parameters: dict[str, Any] | None = None
    validation_split: float = 0.2
    gpu_enabled: StrictBool | None = None
    horizon: int = 1
    feature_set: FeatureSet = "default"
    force: Annotated[
        StrictBool,
        msgspec.Meta(
            description="Make the new version champion even when it does not beat the current one "
            "(the run records that it was forced)"
        ),
    ] = False
    run_async: StrictBool = msgspec.field(default=False, name="async")

    def __post_init__(self) -> None:
        check_free_form("parameters", self.parameters)


class FeatureRequest(_Body, kw_only=True):
    volume: StrictBool = True
    technical_indicators: list[str] = msgspec.field(default_factory=list)


class Predict(_Body, kw_only=True):
    """``model`` is a registered model name or a model kind (the best model of that kind)."""

    symbol: Symbol
    model: Name | None = None
    timeframe: Timeframe | None = None
    features: FeatureRequest | None = None


class SignalPredict(_Body, kw_only=True):
    model_name: Name
    symbol: Symbol | None = None
    days_lookback: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 60
    timeframe: Timeframe | None = None


class BatchPredict(_Body, kw_only=True):
    symbols: Annotated[list[Symbol], msgspec.Meta(min_length=1, max_length=100)]
    model_name: Name | None = None
    model: Name | None = None
    days_lookback: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 60
    timeframe: Timeframe | None = None
    run_async: StrictBool = msgspec.field(default=False, name="async")


class EnsemblePredict(_Body, kw_only=True):
    model_names: Annotated[list[Name], msgspec.Meta(min_length=1, max_length=20)]
    symbol: Symbol | None = None
    weights: list[float] | None = None


class _Trading(_Body, kw_only=True):
    initial_capital: Annotated[float, msgspec.Meta(gt=0)] = 10_000.0
    commission: Annotated[float, msgspec.Meta(ge=0, lt=0.1)] = 0.001
    slippage: Annotated[float, msgspec.Meta(ge=0, lt=0.1)] = 0.0
    position_size: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    allow_short: StrictBool = False
    stop_loss: Annotated[float, msgspec.Meta(gt=0, lt=1)] | None = None
    take_profit: Annotated[float, msgspec.Meta(gt=0)] | None = None
    timeframe: Timeframe | None = None
    source: Source | None = None

    def trading(self) -> dict[str, Any]:
        return {
            "initial_capital": self.initial_capital,
            "commission": self.commission,
            "slippage": self.slippage,
            "position_size": self.position_size,
            "allow_short": self.allow_short,
            "stop_loss": self.stop_loss,
            "take_profit": self.take_profit,
            "source": self.source,
        }


class BacktestRun(_Trading, kw_only=True):
    symbol: Symbol
    model_name: Name | None = None
    strategy: Strategy | None = None
    params: dict[str, Any] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    dataset_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # bars of an ohlcv upload
    run_async: StrictBool = msgspec.field(default=False, name="async")

    def __post_init__(self) -> None:
        check_free_form("params", self.params)


class StrategySpec(_Body, kw_only=True):
    strategy: Strategy
    params: dict[str, Any] | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        check_free_form("params", self.params)


class Compare(_Trading, kw_only=True):
    symbol: Symbol
    model_names: Annotated[list[Name], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    strategies: Annotated[list[StrategySpec], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    start_date: Date | None = None
    end_date: Date | None = None


class WalkForward(_Trading, kw_only=True):
    symbol: Symbol
    model_name: Name | None = None
    model_type: ModelType | None = None
    parameters: dict[str, Any] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    train_window: Annotated[int, msgspec.Meta(ge=20, le=100_000)] = 252
    test_window: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 63
    mode: Literal["rolling", "expanding"] = "rolling"
    threshold: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.2
    dataset_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # bars of an ohlcv upload
    run_async: StrictBool = msgspec.field(default=False, name="async")

    def __post_init__(self) -> None:
        check_free_form("parameters", self.parameters)


class Optimize(_Trading, kw_only=True):
    """A search of a strategy's parameters before a held-out tail (see the route)."""

    strategy: Strategy
    symbol: Symbol
    grid: SearchSpace | None = None
    params: FixedParams | None = None
    parameters: Annotated[dict[ParamName, RangeText], OLD_NAME_OF_GRID] | None = None
    fixed: Annotated[dict[str, Any], OLD_NAME_OF_PARAMS] | None = None
    constraints: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=3, max_length=200, examples=["fast < slow"])]],
        msgspec.Meta(max_length=20),
    ] = msgspec.field(default_factory=list)
    objective: Objective = "sharpe"
    trials: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 50
    holdout: Annotated[float, msgspec.Meta(gt=0, le=0.5)] = 0.2
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 42
    prune: StrictBool = True
    study_name: Annotated[str, msgspec.Meta(pattern=STUDY_NAME_PATTERN, max_length=64)] | None = None
    heatmap: Annotated[list[ParamName], msgspec.Meta(min_length=2, max_length=2)] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    dataset_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # bars of an ohlcv upload
    run_async: StrictBool = msgspec.field(default=False, name="async")

    def __post_init__(self) -> None:
        for name, old in (("grid", "parameters"), ("params", "fixed")):
            if getattr(self, name) is not None and getattr(self, old) is not None:
                raise ValueError(f"give {name} or its older name {old}, not both")
        if self.grid is None and self.parameters is None:
            raise ValueError("grid is required: the parameters to search and their ranges")
        check_free_form("params", self.params if self.params is not None else self.fixed)


class Sweep(_Trading, kw_only=True):
    """A strategy over a grid of its parameters (``params``: those held fixed), ranked by ``objective``;
    ``top``: the combinations answered (every one is in the MLflow run's CSV)."""

    symbol: Symbol
    strategy: Strategy
    grid: Annotated[
        dict[ParamName, SweepValues],
        msgspec.Meta(min_length=1, max_length=8, examples=[{"fast": "5:50:5", "slow": [20, 50, 100, 200]}]),
    ]
    params: dict[str, Any] | None = None
    constraints: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=3, max_length=100)]],
        msgspec.Meta(max_length=20, examples=[["fast < slow"]]),
    ] = msgspec.field(default_factory=list)
    objective: Objective = "sharpe_ratio"
    sample: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)] | None = None
    top: Annotated[int, msgspec.Meta(ge=1, le=1_000)] = 20
    heatmap: Annotated[list[ParamName], msgspec.Meta(min_length=2, max_length=2)] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    dataset_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # bars of an ohlcv upload
    run_async: StrictBool = msgspec.field(default=False, name="async")

    def __post_init__(self) -> None:
        check_free_form("params", self.params)


class WebhookCreate(_Body, kw_only=True):
    """Where to POST, which events, and the signing secret (generated if absent)."""

    url: Annotated[
        str,
        msgspec.Meta(min_length=8, max_length=2000, examples=["https://your-app.com/webhooks/tradeforge"]),
    ]
    events: Annotated[
        list[WebhookEvent],
        msgspec.Meta(min_length=1, max_length=20, examples=[["prediction.completed", "training.finished"]]),
    ]
    secret: str | None = None


def job_params(body: msgspec.Struct, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A request body as the keyword arguments of the job that runs it (``async`` and unset fields out)."""
    out = {k: v for k, v in msgspec.structs.asdict(body).items() if k != "run_async" and k not in drop}
    return {
        k: (msgspec.to_builtins(v) if isinstance(v, msgspec.Struct | list) else v)
        for k, v in out.items()
        if v is not None
    }
