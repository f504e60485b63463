"""Trading: orders, trades, brokers (paper and exchange), risk controls, DCA, live strategies,
portfolio and analytics. Pure domain: no web framework and no Dagster; the fills come from the
backtester's own cost model (:mod:`pipelines.backtest.costs`), so backtests, paper and live agree."""
