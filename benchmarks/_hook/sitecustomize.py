"""Put on ``PYTHONPATH`` with ``TRADEFORGE_SAMPLE_OUT`` set (bench_bento.py ``--profile``), it starts
``_sampler.py``'s CPU sampler in every Python process of a server, whatever starts them (the Bento's
arbiter and workers): ``SIGUSR1`` clears, ``SIGUSR2`` writes ``TRADEFORGE_SAMPLE_OUT`` with ``{pid}``
replaced by the process id."""

import os
import sys

if os.environ.get("TRADEFORGE_SAMPLE_OUT"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import _sampler

    sys.path.pop(0)
    _sampler.install()
