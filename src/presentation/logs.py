import contextlib
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from kv_api.presentation.http.request_context import RequestContextFilter

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# ".000+00:00" to ".999+00:00": the end of a timestamp without formatting a number per line
_MILLIS = tuple(f".{ms:03d}+00:00" for ms in range(1000))
_SHAPES = 256  # distinct attribute sets remembered; each logging call site makes one
OWN_FIELDS = "_own_fields"  # a record that lists its own fields; underscored: never written out


class _Extras:
    """A record's own fields (what `extra=` and filters added), in the order they were set.

    Records from one call site share their attribute names, so the names to keep are worked
    out once per set of names instead of testing each of ~30 attributes on every record."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, ...], tuple[str, ...]] = {}

    def __call__(self, record: logging.LogRecord) -> dict[str, Any]:
        fields = vars(record)
        own: dict[str, Any] | None = fields.get(OWN_FIELDS)
        if own is not None:  # a record that lists its fields (the access log's)
            return own
        shape = tuple(fields)
        names = self._known.get(shape)
        if names is None:
            names = tuple(k for k in shape if k not in _STANDARD and not k.startswith("_"))
            if len(self._known) >= _SHAPES:
                self._known.clear()
            self._known[shape] = names
        return {name: fields[name] for name in names}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    _second = -1
    _second_text = ""

    def __init__(self) -> None:
        super().__init__()
        self._extras = _Extras()

    def _time(self, created: float) -> str:
        """ISO 8601 in UTC with milliseconds; the date and time of day are formatted once
        per second, which halves the cost of an access-log line."""
        second = int(created)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return self._second_text + _MILLIS[int((created - second) * 1000)]

    def format(self, record: logging.LogRecord) -> str:
        fields = self._extras(record)
        if record.exc_info:
            fields = {**fields, "exception": self.formatException(record.exc_info)}
        level, message = record.levelname.lower(), record.getMessage()
        return self.line(record.created, level, record.name, message, fields)

    def line(self, created: float, level: str, logger: str, message: str, fields: Any) -> str:
        """The one shape of a JSON line, for records and for fields handed over directly."""
        entry = {
            "time": self._time(created),
            "level": level,
            "logger": logger,
            "message": message,
            **fields,
        }
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self._extras = _Extras()

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = self._extras(record)
        return text + ("" if not extras else " " + " ".join(f"{k}={v}" for k, v in extras.items()))


class BufferedStreamHandler(logging.Handler):
    """Collects lines and writes them in one go every `interval` seconds from a daemon thread,
    at once from WARNING up, and at exit (logging.shutdown flushes). A line-buffered stderr
    costs a write system call per access-log line; at most `interval` of lines is lost if the
    process is SIGKILLed. `emit` and `flush` both run under the handler's lock."""

    def __init__(self, stream: IO[str], interval: float = 0.2) -> None:
        super().__init__()
        self._stream = stream
        self._pending: list[str] = []
        self._interval = interval
        threading.Thread(target=self._flush_forever, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._pending.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self.flush()

    def write_json(
        self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]
    ) -> None:
        """A line made from fields without a LogRecord (see `json_stream_of`), into the same
        buffer under the same lock as `emit`."""
        formatter = self.formatter
        assert isinstance(formatter, JsonFormatter)
        line = formatter.line(created, level, logger, message, fields)
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if not self._pending:
                return
            lines, self._pending = self._pending, []
            with contextlib.suppress(OSError, ValueError):
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self._interval)
            self.flush()


def json_stream_of(logger: logging.Logger) -> BufferedStreamHandler | None:
    """The handler every INFO record of `logger` reaches when it is the only one, has no
    filter but the request-context one and writes JSON: the way `configure_logging` sets
    logging up. A caller may then hand it fields and skip the LogRecord, about half of an
    access-log line's cost (docs/decisions/018-*). None for any other set-up (tests that
    capture records, an application embedding ours): records then go the usual way."""
    found: logging.Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if (
        type(found) is not BufferedStreamHandler
        or found.level > logging.INFO
        or type(found.formatter) is not JsonFormatter
    ):
        return None
    for each in found.filters:  # a loop, not all(...): it runs for every request
        if type(each) is not RequestContextFilter:
            return None
    return found


def log_handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """Formats as `fmt` (json or text) and tags records with the request being handled."""
    handler: logging.Handler = (
        BufferedStreamHandler(sys.stderr) if stream is None else logging.StreamHandler(stream)
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


def configure_logging(level: str, fmt: str) -> None:
    root = logging.getLogger()
    root.handlers[:] = [log_handler(fmt)]
    root.setLevel(level)
    # No formatter here prints the caller's file and line, thread or process: not collecting
    # them (the logging HOWTO's "Optimization") saves a fifth of each access-log line's cost.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # our middleware writes the access log (KV_ACCESS_LOG); aiohttp's own stays quiet
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
