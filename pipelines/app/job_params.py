"""Checks shared by the job kinds' validators: a kind's parameters are the keyword arguments of the
use-case function it runs, checked by the same planners before the job is queued, so bad input is an
InvalidRequestError at submission, never a failed job."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pipelines.data.limits import estimate_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeutil import parse_time
from pipelines.errors import DataNotFoundError, InvalidRequestError, TradeforgeError
from pipelines.models.registry_read import registered_models
from pipelines.settings import Settings

__all__ = ["bars_ram", "checked", "only_known", "require_model", "text_param", "with_span"]

T = TypeVar("T")

_LIBRARIES_GB = 0.4  # a worker's interpreter with pandas, numpy, numba and pyarrow loaded


def checked(call: Callable[[], T]) -> T:
    """Run a planner; a TypeError or ValueError from ill-typed JSON is the caller's input error too."""
    try:
        return call()
    except TradeforgeError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"invalid job parameters: {exc}") from None


def only_known(
    params: dict[str, Any], fn: Callable[..., Any], skip: Iterable[str], extra: Iterable[str] = ()
) -> None:
    """InvalidRequestError when ``params`` has a key that is not a keyword of ``fn`` (less ``skip``,
    plus ``extra``)."""
    known = {
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    known = (known - set(skip)) | set(extra)
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidRequestError(
            f"unknown job parameter(s): {', '.join(unknown)}; expected: {', '.join(sorted(known))}"
        )


def text_param(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """``params[name]`` as a non-empty string (None when it is absent and not ``required``)."""
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name} must be a non-empty string")
    return value


def bars_ram(floor_gb: float, kb_per_bar: float) -> Callable[[dict[str, Any]], float]:
    """A RAM estimate growing with the bars a job reads: its ``start_date``/``end_date`` at its
    ``timeframe`` (the backtest validators write the planned dates in; without both dates the floor);
    bars of an upload add nothing here (the upload's size bounds them)."""

    def estimate(params: dict[str, Any]) -> float:
        if params.get("dataset_id") or not params.get("start_date") or not params.get("end_date"):
            return floor_gb
        bars = estimate_bars(
            str(params.get("timeframe") or "1d"),
            parse_time(params["start_date"]),
            parse_time(params["end_date"]),
            crypto=parse_symbol(str(params["symbol"])).is_crypto,
        )
        return max(floor_gb, _LIBRARIES_GB + bars * kb_per_bar / 1024**2)

    return estimate


def with_span(params: dict[str, Any], request: Any) -> dict[str, Any]:
    """The job's parameters with the planned dates, so the job reads what was checked at submission."""
    return {**params, "start_date": request.start.isoformat(), "end_date": request.end.isoformat()}


def require_model(settings: Settings, name: str) -> None:
    """DataNotFoundError unless a model called ``name`` is registered (read without MLflow from a
    local store, so a wrong name fails in a moment)."""
    if not dict(registered_models(settings)).get(name):
        raise DataNotFoundError(f"no registered model named {name!r}")
