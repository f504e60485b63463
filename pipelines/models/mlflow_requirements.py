"""Imported by the jobs' fork server (its preload list), never by the app: MLflow's map of the
installed packages' modules, which every model save reads to check the model's requirements against
the environment. Building it reads every installed package's file list (about a second); built once
in the fork server, every job process forked from it starts with it."""

from __future__ import annotations

from mlflow.utils import requirements_utils

requirements_utils._init_modules_to_packages_map()  # type: ignore[no-untyped-call]
