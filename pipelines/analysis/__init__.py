"""Requests that combine the layers: backtests and walk-forward analyses on stored market data
and registered models, as the CLI, Dagster and the API run them."""
