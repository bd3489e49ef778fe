import io
import logging
import time

from kv_api.presentation.logs import BufferedStreamHandler


def _record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("kv_api.test", level, __file__, 1, message, None, None)


def test_info_lines_are_written_by_the_background_flush() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=0.05)
    handler.handle(_record(logging.INFO, "first"))
    handler.handle(_record(logging.INFO, "second"))
    deadline = time.monotonic() + 5
    while stream.getvalue() != "first\nsecond\n":
        assert time.monotonic() < deadline, repr(stream.getvalue())
        time.sleep(0.01)


def test_warnings_and_explicit_flushes_write_at_once() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, interval=3600)
    handler.handle(_record(logging.INFO, "queued"))
    assert stream.getvalue() == ""
    handler.handle(_record(logging.WARNING, "urgent"))
    assert stream.getvalue() == "queued\nurgent\n"
    handler.handle(_record(logging.INFO, "at exit"))
    handler.flush()
    assert stream.getvalue().endswith("at exit\n")
