"""scikit-learn estimators on disk via skops: no pickle, and loading trusts only scikit-learn/numpy types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.errors import InvalidRequestError

__all__ = ["load_estimator", "save_estimator"]

_TRUSTED_PREFIXES = ("sklearn.", "numpy.")


def save_estimator(estimator: Any, file: Path) -> None:
    import skops.io as sio  # type: ignore[import-untyped]

    sio.dump(estimator, file)


def load_estimator(file: Path) -> Any:
    import skops.io as sio

    untrusted = [str(t) for t in sio.get_untrusted_types(file=file)]
    foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if foreign:
        raise InvalidRequestError(f"{file} holds types outside scikit-learn/numpy: {', '.join(foreign)}")
    return sio.load(file, trusted=untrusted)
