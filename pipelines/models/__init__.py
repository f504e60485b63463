"""Models: kinds, hyperparameters, training and evaluation, and the MLflow registry adapter.

Import the submodules directly (``pipelines.models.training``, ``pipelines.models.registry``);
this package imports nothing heavy on its own, so the CLI and Dagster start fast.
"""
