"""``tradeforge serve`` never logs a credential sent in a query string (WebSocket ``?api_key=``)."""

from __future__ import annotations

import io
import logging
import logging.config
import os
import subprocess
import sys
from pathlib import Path

import pytest
from uvicorn.logging import AccessFormatter
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from pipelines.cli.serve_logging import RedactCredentials, uvicorn_log_config
from tests.net_support import free_port, wait_http
from tests.serving_support import SECRET

KEY = "tf_do-not-log-me-0123456789abcdef"


def test_uvicorn_access_record_is_masked() -> None:
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5000",
            "GET",
            f"/api/v1/ws/live?symbols=AAPL&api_key={KEY}&access_token={KEY}",
            "1.1",
            101,
        ),
        None,
    )
    assert RedactCredentials().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(
        record
    )
    assert KEY not in line
    assert "/api/v1/ws/live?symbols=AAPL&api_key=***&access_token=***" in line


def test_log_config_masks_on_every_uvicorn_handler() -> None:
    config = uvicorn_log_config()
    assert all("redact_credentials" in h["filters"] for h in config["handlers"].values())
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    config["handlers"]["default"].pop("class")
    config["handlers"]["default"]["()"] = lambda stream: logging.StreamHandler(stream)
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    try:
        logging.config.dictConfig(config)
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "1.2.3.4:5", f"/ws?token={KEY}"
        )
    finally:
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
    assert '"WebSocket /ws?token=***" [accepted]' in stream.getvalue() and KEY not in stream.getvalue()


@pytest.mark.timeout(120)
def test_serve_does_not_log_a_websocket_api_key(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TRADEFORGE_HOME": str(tmp_path / "home"),
        "TRADEFORGE_SECRET_KEY": SECRET,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),  # this checkout's code
    }
    exe = Path(sys.executable).with_name("tradeforge")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--log-level", "info"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/live", proc)
        for query in (f"api_key={KEY}", f"token={KEY}"):
            try:
                with connect(f"ws://127.0.0.1:{port}/api/v1/ws/live?{query}", open_timeout=10) as ws:
                    ws.recv(timeout=5)  # the server's answer to a bad key
            except (WebSocketException, TimeoutError):
                pass
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert "WebSocket /api/v1/ws/live?api_key=***" in output, output
    assert "WebSocket /api/v1/ws/live?token=***" in output, output
    assert KEY not in output
