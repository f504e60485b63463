"""Sweep requests: checked up front (strategy, grid, constraints, the combination limit, data range,
costs), then run on stored (or user-file) bars with the indicators warmed before the start."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.app.backtest_plan import BacktestRequest, LazyRegistrySignals, plan_backtest, warm_from
from pipelines.app.honest_results import sweep_honesty
from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.backtest.sweep import OBJECTIVES, SweepResult, run_sweep
from pipelines.backtest.sweep_fast import IMPLIED
from pipelines.backtest.sweep_grid import build_grid, parse_constraint
from pipelines.data.version import DataVersion
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

__all__ = ["SweepRequest", "SweepRun", "plan_sweep", "sweep_run"]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SweepRequest:
    """What to sweep (``backtest``: strategy, fixed params, bars, costs) and how."""

    backtest: BacktestRequest
    grid: dict[str, Any]
    constraints: tuple[str, ...]
    objective: str
    sample: int | None
    seed: int | None
    combinations: int


@dataclass(frozen=True)
class SweepRun:
    result: SweepResult
    data_version: DataVersion


def plan_sweep(
    settings: Settings,
    *,
    grid: Mapping[str, Any],
    constraints: Sequence[str] = (),
    objective: str = "sharpe_ratio",
    sample: int | None = None,
    seed: int | None = None,
    **backtest: Any,
) -> SweepRequest:
    """Everything checked before any bar is read: ``backtest`` as :func:`plan_backtest` takes it
    (its ``params`` the parameters held fixed), the grid's names and values against the strategy's
    schema, the constraints, the objective, and the combinations against ``sweep_max_combinations``."""
    if objective not in OBJECTIVES:
        raise InvalidRequestError(
            f"unknown objective {objective!r}; choose one of {', '.join(sorted(OBJECTIVES))}"
        )
    fixed = dict(backtest.pop("params", None) or {})
    request = plan_backtest(settings, params={k: v for k, v in fixed.items() if k not in grid}, **backtest)
    parsed = [parse_constraint(c) for c in constraints]
    checked = build_grid(
        request.strategy,
        grid,
        fixed=request.params,
        constraints=(*IMPLIED.get(request.strategy, ()), *parsed),
        sample=sample,
        seed=seed,
        max_combinations=settings.limits.sweep_max_combinations,
    )
    return SweepRequest(
        request, dict(grid), tuple(str(c) for c in parsed), objective, sample, seed, len(checked)
    )


def sweep_run(settings: Settings, request: SweepRequest, progress: Progress | None = None) -> SweepRun:
    """Run ``request`` on its bars (warm-up included): stored bars, ingested first only when the
    store lacks part of the window; a user's file as it is. The best combination is set beside buy
    and hold of the symbol (and of the settings' benchmark symbol) over the bars it traded."""
    bt = request.backtest
    first = warm_from(bt.source, bt.start, bt.timeframe, crypto=bt.config.crypto)
    table = ensure_bars_table(
        settings, DataRequest(bt.source, bt.symbol, bt.timeframe, first, bt.end, bt.path)
    )
    bars = table.bars()
    result = run_sweep(
        bars,
        bt.strategy,
        request.grid,
        bt.config,
        fixed=bt.params,
        constraints=request.constraints,
        objective=request.objective,
        sample=request.sample,
        seed=request.seed,
        max_combinations=settings.limits.sweep_max_combinations,
        trade_from=bt.start,
        context=LazyRegistrySignals(settings),
        progress=progress,
    )
    honest = sweep_honesty(settings, bars, result, bt.symbol, bt.timeframe, bt.source)
    return SweepRun(honest, table.version)
