"""Imported by the jobs' fork server (its preload list), never by the app: what of MLflow every
model-saving job needs, made once there so that every job process forked from it starts with it.

- The map of the installed packages' modules, which every model save reads to check the model's
  requirements against the environment: building it reads every installed package's file list
  (about a second).
- The SQL stores' modules and their mapped classes, imported when a job opens its tracking store
  (0.5-0.9 s of imports and mapper configuration otherwise).
"""

from __future__ import annotations

import mlflow.store.model_registry.sqlalchemy_store
import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
from mlflow.utils import requirements_utils
from sqlalchemy.orm import configure_mappers

requirements_utils._init_modules_to_packages_map()  # type: ignore[no-untyped-call]
configure_mappers()
