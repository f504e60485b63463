"""The ``benchmark`` and ``significance`` blocks of backtest, walk-forward and comparison answers
(``pipelines.backtest.honest``)."""

from __future__ import annotations

from msgspec import field

from serving.responses import Num, Shape

__all__ = ["Benchmark", "BenchmarkComparison", "Overfitting", "Significance"]


class BenchmarkComparison(Shape):
    """Buy and hold of ``symbol`` over the result's period with its costs, and the result against it
    on their common bars: excess returns, tracking error, information ratio, beta, Jensen's alpha
    (annualized, risk-free rate 0), and a one-line ``verdict``."""

    strategy: str
    symbol: str
    total_return: Num
    annual_return: Num
    sharpe_ratio: Num
    max_drawdown: Num
    final_equity: float
    common_bars: int
    excess_return: Num
    excess_annual_return: Num
    tracking_error: Num
    information_ratio: Num
    beta: Num
    alpha: Num
    verdict: str


class Benchmark(BenchmarkComparison):
    """The traded symbol's own buy and hold; ``others``: the same against the buy and hold of the
    benchmark symbol of the settings (empty when none is set)."""

    others: list[BenchmarkComparison] = field(default_factory=list)


class Overfitting(Shape):
    """Probability of backtest over-fitting of choosing the best of the ``trials`` (combinatorially
    symmetric cross-validation over ``partitions`` blocks)."""

    pbo: float
    partitions: int
    combinations: int
    trials: int
    median_logit: Num


class Significance(Shape):
    """How far the Sharpe ratio (annualized) can be trusted: its standard error under the returns'
    skewness and kurtosis, the probabilistic Sharpe ratio against 0 and against buy and hold's, the
    minimum track record for ``confidence``, and with several ``trials`` the deflated Sharpe ratio
    (``trials_sharpe_variance``: annualized variance of the trials' Sharpe ratios).
    ``significant``: the deflated (else the probabilistic against 0) Sharpe ratio reaches ``confidence``;
    ``verdict``: that as one line. For a walk-forward, ``walk_forward_efficiency``: mean out-of-sample
    (``out_of_sample_sharpe``) over mean in-sample (``in_sample_sharpe``) Sharpe ratio of the folds."""

    observations: int
    sharpe_ratio: Num
    sharpe_std_error: Num
    skewness: Num
    kurtosis: Num
    psr_vs_zero: Num
    benchmark_sharpe: Num
    psr_vs_benchmark: Num
    min_track_record_bars: Num
    min_track_record_years: Num
    trials: int
    trials_sharpe_variance: Num
    expected_max_sharpe: Num
    deflated_sharpe: Num
    confidence: float
    significant: bool
    verdict: str | None = None
    walk_forward_efficiency: Num = None
    in_sample_sharpe: Num = None
    out_of_sample_sharpe: Num = None
    best: str | None = None
    overfitting: Overfitting | None = None
