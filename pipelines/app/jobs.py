"""The job kinds the platform runs: training, batch predictions, N-step forecasts, backtests,
walk-forward analyses, parameter sweeps, dataset processing and the training platform's trainings.

Each kind lives with its use case (``pipelines.app.train``, ``predict``, ``backtest``,
``walk_forward``, ``optimize``, ``sweep``, ``dataset_job``); the generic queue (``pipelines.jobs``)
knows none of them and runs the ``TaskKinds`` it is given: ``default_tasks()`` is the one the server,
the CLI and the recovery hand it.
"""

from __future__ import annotations

from pipelines.app.backtest import backtest_task
from pipelines.app.dataset_job import dataset_task
from pipelines.app.exchange_sync import exchange_sync_task
from pipelines.app.forecast_jobs import prediction_task
from pipelines.app.learning_job import dl_training_task
from pipelines.app.optimize import optimize_task
from pipelines.app.predict import batch_prediction_task
from pipelines.app.sweep import sweep_task
from pipelines.app.train import training_task
from pipelines.app.walk_forward import walk_forward_task
from pipelines.jobs.task_kinds import TaskKinds

__all__ = ["default_tasks"]


def default_tasks() -> TaskKinds:
    """The job kinds of the server: training, batch_prediction, prediction (an N-step forecast),
    backtest, walk_forward, optimize (a strategy's parameter search), sweep (a parameter sweep),
    dataset, exchange_sync, dl_training (the training platform)."""
    return TaskKinds(
        [
            training_task,
            batch_prediction_task,
            prediction_task,
            backtest_task,
            walk_forward_task,
            optimize_task,
            sweep_task,
            dataset_task,
            exchange_sync_task,
            dl_training_task,
        ]
    )
