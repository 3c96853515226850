"""Log lines that tell the truth and can be traced.

- ``RequestIdFilter`` puts the id of the request a line belongs to on every record
  (``%(request_id)s`` in deploy/nameko.yaml's format). The gateway takes the caller's
  ``X-Request-ID`` (or makes one), answers with it, and passes it to services in the call
  context; each worker keeps it in a green-thread local while it runs. A county office quotes
  it to an operator, who finds every line of that request in every process's log.
- ``ClientErrorsAreNotFailures``: a refused request is one INFO line, not an ERROR with a
  traceback, so ERROR lines are real failures.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid

from .errors import ConsortiumError

REQUEST_ID = "request_id"     # the key in nameko's call context (header nameko.request_id)
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current = threading.local()  # green-thread local under eventlet's monkey patching


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID if it is a sane token, else a new one."""
    if header and _SANE.match(header):
        return header
    return uuid.uuid4().hex


def set_request_id(value: str | None) -> None:
    _current.request_id = value


def current_request_id() -> str | None:
    return getattr(_current, "request_id", None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class ClientErrorsAreNotFailures(logging.Filter):
    """nameko logs every exception a worker raised with its traceback at ERROR. A refused
    request (bad input, not found, a conflict: a ConsortiumError below 500) is the service
    working, not failing: one INFO line, so the log's errors and tracebacks are the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ConsortiumError) and exc.status < 500:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
            worker = record.args[0] if isinstance(record.args, tuple) and record.args else ""
            record.msg, record.args = "refused %s: %s %s", (worker, type(exc).__name__,
                                                             exc.detail)
        return True
