"""Logging for the server: one format, each line tagged with its request, written off the event loop.

A request only puts its log records on a queue; a background thread writes them out in
one write every 50 ms. Written inline, the access line's write to stderr cost the event
loop about a tenth of a millisecond a request under load.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import threading
from contextvars import ContextVar

LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

# Set by the request middleware for the duration of a request.
request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Adds record.request_id, so that a log format can show which request a line belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class LogWriter(threading.Thread):
    """Writes queued log records out every `interval` seconds, all of them in one write.

    A writer that waited on the queue would be woken, and write, once per record: two system
    calls and a thread switch for every request's access line, on a machine whose cores the
    model is using.
    """

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], interval: float = 0.05) -> None:
        super().__init__(name="rsa-qa-log-writer", daemon=True)
        self.records = records
        self.interval = interval
        self.stream = sys.stderr
        self.formatter = logging.Formatter(LOG_FORMAT)
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.write_out()
        self.write_out()

    def write_out(self) -> None:
        lines = []
        while True:
            try:
                lines.append(self.formatter.format(self.records.get_nowait()))
            except queue.Empty:
                break
        if not lines:
            return
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed: these lines are lost, later ones still tried
            pass

    def stop(self) -> None:
        self._stopping.set()
        self.join()


_writer: LogWriter | None = None


def configure_logging(level: int = logging.INFO) -> None:
    """One format for rsa_qa and uvicorn alike, each line tagged with its request id.

    A request only puts its log records on a queue; a background thread writes them out.
    Written inline, the access line's write to stderr cost the event loop about a tenth
    of a millisecond a request under load.
    """
    global _writer
    stop_log_writer()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    queued = logging.handlers.QueueHandler(records)
    queued.setFormatter(logging.Formatter("%(message)s"))  # message and traceback; the writer adds the rest
    queued.addFilter(RequestIdFilter())  # here, in the request's context, where its id is known
    _writer = LogWriter(records)
    _writer.start()
    logging.basicConfig(level=logging.WARNING, handlers=[queued], force=True)
    for name in ("rsa_qa", "uvicorn"):
        logging.getLogger(name).setLevel(level)


@atexit.register
def stop_log_writer() -> None:
    """Writes out what is still queued (at exit, or before the writer is replaced)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None
