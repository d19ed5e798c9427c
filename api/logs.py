"""Logging for ``bihuan serve``: uvicorn's configuration, with tokens kept out of the access log.

A client that cannot send headers (a browser's ``EventSource``) may put its bearer token in the
query (``/api/v1/events?access_token=…``); uvicorn logs every request line, so without this the
token would land in the log on every connection. :class:`RedactTokens` rewrites any query
parameter whose name ends in ``token`` (``access_token``, ``id_token``, …) to ``***`` before a
record is written.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_TOKEN_PARAM = re.compile(r"([?&][^=&\s]*token=)[^&\s#]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every ``…token=<value>`` query parameter's value replaced by ``***``."""
    return _TOKEN_PARAM.sub(r"\1***", text)


class RedactTokens(logging.Filter):
    """Rewrites the record's message and arguments (uvicorn passes the path as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            args = record.args.items()
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args}
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`RedactTokens` on both its loggers
    (the access log and the error log, which names the request line of a failed request)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "api.logs.RedactTokens"}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
