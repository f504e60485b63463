"""The application layer: one module per use case (train, predict, backtest, walk_forward,
datasets, accounts, account_admin, market_data, full_curves) and the job kinds (``jobs``), shared by
the three front ends (the CLI, the Dagster assets, the API). It sits above the ML core (data,
features, models, backtest, prediction, analysis) and the infrastructure (db, the generic job queue,
security, webhooks), and below nothing but the front ends."""
