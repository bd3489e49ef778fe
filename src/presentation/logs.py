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
        fields = own_fields(record)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        message = record.getMessage()
        return json_line(record.created, record.levelname.lower(), record.name, message, fields)


def json_line(created: float, level: str, logger: str, message: str, fields: Any) -> str:
    """The one shape of a JSON log line, for records and for lines written without one."""
    entry = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
        **fields,
    }
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


SERVING_STREAM = "kv_api_serving_stream"  # marks the one JSON handler `kv-api serve` sets up


def serving_json_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The handler every record of `logger` reaches when logging is as `configure_logging`
    set it up for JSON: that handler alone, on the root, nothing else in the way."""
    root = logging.getLogger()
    current: logging.Logger | None = logger
    while current is not None and current is not root:
        if current.handlers or current.filters or not current.propagate:
            return None
        current = current.parent
    if len(root.handlers) != 1 or root.filters:
        return None
    handler = root.handlers[0]
    if not getattr(handler, SERVING_STREAM, False) or not isinstance(
        handler, logging.StreamHandler
    ):
        return None
    return handler


def configure_logging(level: str, fmt: str) -> None:
    root = logging.getLogger()
    handler = log_handler(fmt)
    setattr(handler, SERVING_STREAM, fmt == "json")
    root.handlers[:] = [handler]
    root.setLevel(level)
    # No formatter here prints the caller's file and line, thread or process: not collecting
    # them is the logging HOWTO's "Optimization", a fifth of each access-log line's cost.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # our middleware writes the access log (KV_ACCESS_LOG); aiohttp's own stays quiet
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
