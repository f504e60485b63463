"""Model specs: which models are trained on a schedule (``specs.yaml`` in this package by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.data.symbols import path_safe
from pipelines.errors import InvalidRequestError
from pipelines.models.base import ModelKind

__all__ = ["DEFAULT_SPECS_PATH", "ModelSpec", "load_specs"]

DEFAULT_SPECS_PATH = Path(__file__).with_name("specs.yaml")


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ModelKind
    symbol: str
    timeframe: str
    model_name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    source: str = "synthetic"
    lookback_days: int = Field(default=1460, gt=30)
    validation_split: float = Field(default=0.2, gt=0.0, lt=0.9)
    horizon: int = Field(default=1, ge=1, le=100)
    feature_set: str = "default"
    retrain_growth: float = Field(default=0.02, gt=0.0)
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The Dagster partition key: kind x symbol x timeframe."""
        return f"{self.kind.value}-{path_safe(self.symbol)}-{self.timeframe}"


def load_specs(path: Path | None = None) -> list[ModelSpec]:
    """The specs of ``path`` with the file's ``defaults`` applied; a bad entry names itself."""
    source = path or DEFAULT_SPECS_PATH
    try:
        raw = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidRequestError(f"cannot read model specs {source}: {exc}") from None
    defaults = raw.get("defaults", {}) or {}
    specs = []
    for i, entry in enumerate(raw.get("specs", []) or []):
        try:
            specs.append(ModelSpec.model_validate({**defaults, **entry}))
        except ValidationError as exc:
            raise InvalidRequestError(f"model spec #{i + 1} in {source} is invalid: {exc}") from None
    keys = [s.key for s in specs]
    names = [s.model_name for s in specs]
    if len(set(keys)) != len(keys) or len(set(names)) != len(names):
        raise InvalidRequestError(f"{source} lists a spec or a model_name twice")
    return specs
