"""The application layer: one module per use case, shared by the three front ends (the CLI, the
Dagster assets, the API).

- ``backtest`` / ``backtest_plan``: backtests (the API's requests and the ``backtest`` job kind /
  the typed plan and run the CLI uses), ``reports``: the backtest reports the Dagster assets write;
- ``walk_forward`` / ``walk_forward_plan``: walk-forward analyses, the same way;
- ``train``: training and describing models (the ``training`` job kind); ``predict``: batch predictions;
- ``datasets`` and ``dataset_job``: users' uploaded datasets and the job that processes them;
- ``accounts`` and ``account_admin``: registration, login, tokens; operators' control of accounts;
- ``ingest``: bars into the store (the CLI's ``ingest``, the ``market_bars`` asset) and the bars a
  backtest, walk-forward or training reads (ingested first only when the store lacks them);
- ``market_data``: what the bar store holds; ``full_curves``: the files a cut answer keeps;
- ``jobs``: the job kinds handed to the generic queue;
- ``dagster_workers``: Dagster's steps on Celery workers (the executor's broker and queue, the
  ``tradeforge dagster worker`` command line);
- ``recovery``: cleaning up after killed processes (server start-up, ``tradeforge data check
  --repair``); ``demo_credentials``: the demo's API account.

It sits above the ML core (data, features, models, backtest, prediction) and the infrastructure
(db, the generic job queue, security, webhooks), and below nothing but the front ends.
"""
