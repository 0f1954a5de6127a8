"""Log redaction: every log record's message and traceback pass through `mask_personal` before any handler.

A `logging.Filter` on one logger only sees records logged on that logger, and one on a handler misses
handlers added later (uvicorn's, a test's log capture), so the filter runs in the record factory: every
record of every logger is masked as it is created. `RedactingFilter` is the same rule for a logging
configuration that wants it on its own handlers.
"""

from __future__ import annotations

import logging

from assistant.privacy.redaction import mask_personal


class RedactingFilter(logging.Filter):
    """Masks card numbers, IBANs, passwords, e-mail addresses and phone numbers in a record (always keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler to report
        return record
    masked = mask_personal(message)
    if masked != message:  # else the arguments stay: uvicorn's access log formatter reads them
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_personal(record.exc_text)
    record._redacted = True
    return record


_installed = False


def install_log_redaction() -> None:
    """Mask personal data in every log record of this process (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(redacting_factory)
    _installed = True
