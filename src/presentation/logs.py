"""Logging as `kv-api serve` sets it up: one line per record on stderr, as JSON (one object
per line) or text, each record tagged with the request being handled."""

import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from kv_api.presentation.http.request_context import RequestContextFilter

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def own_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What `extra=` and the filters added to a record, in the order they were set."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k[0] != "_"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **own_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = own_fields(record)
        return text + ("" if not extras else " " + " ".join(f"{k}={v}" for k, v in extras.items()))


def log_handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """Formats as `fmt` (json or text) and tags records with the request being handled."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


def configure_logging(level: str, fmt: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [log_handler(fmt)]
    root.setLevel(level)
    # No formatter here prints the caller's file and line, thread or process: not collecting
    # them is the logging HOWTO's "Optimization", a fifth of each access-log line's cost.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # our middleware writes the access log (KV_ACCESS_LOG); aiohttp's own stays quiet
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
