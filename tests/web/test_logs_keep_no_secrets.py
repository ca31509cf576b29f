"""Join tokens, feed tokens and query codes never appear in the server's logs."""

from __future__ import annotations

import logging
import logging.config

import pytest

from vreception.cli import server_options
from vreception.config import Settings
from web.logfilter import ACCESS_LOG_CONFIG, RedactSecrets, redact


def test_secret_parameters_are_cut_out_of_urls():
    assert redact("GET /ws/sessions/4?token=eyJhbGciOi.x.y HTTP/1.1") == "GET /ws/sessions/4?token=*** HTTP/1.1"
    assert redact("/api/v1/public/matters/580102-2026-00001?code=8AJYC3S7QR&x=1") == \
        "/api/v1/public/matters/580102-2026-00001?code=***&x=1"
    assert redact("/api/v1/calendars/leaders/3.ics?lang=en&token=abc") == "/api/v1/calendars/leaders/3.ics?lang=en&token=***"
    assert redact("/matters?cursor=50&state=accepted") == "/matters?cursor=50&state=accepted"


@pytest.fixture
def uvicorn_logging():
    """uvicorn's loggers configured as `vreception serve` does, put back afterwards."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in names}
    logging.config.dictConfig(ACCESS_LOG_CONFIG)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def test_the_access_log_as_uvicorn_writes_it_keeps_no_token(capsys, uvicorn_logging):
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                             "/ws/sessions/1?token=SECRETJOIN", "1.1", 101)
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000",
                                            "/ws/sessions/1?token=SECRETJOIN")
    out = capsys.readouterr()
    assert "SECRETJOIN" not in out.out + out.err and "token=***" in out.out + out.err


def test_forwarded_addresses_are_believed_only_from_configured_proxies():
    assert server_options(Settings(_env_file=None))["proxy_headers"] is False
    options = server_options(Settings(_env_file=None, trusted_proxies="10.0.0.2, 10.0.0.3"))
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.2,10.0.0.3"
    assert isinstance(RedactSecrets(), logging.Filter)
