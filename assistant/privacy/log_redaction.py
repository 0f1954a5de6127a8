"""Log redaction: every log record's message and traceback pass through `mask_log_text` before any handler:
personal data (`mask_personal`), bearer tokens (a client that puts one in a URL must not leak it) and a
customer id in a URL path (`/api/admin/customers/{id}/...`, the access line of an export or erasure: the
audit log says who read or erased whom, the logs need not).

A `logging.Filter` on one logger only sees records logged on that logger, and one on a handler misses
handlers added later (uvicorn's, a test's log capture), so the filter runs in the record factory: every
record of every logger is masked as it is created. `RedactingFilter` is the same rule for a logging
configuration that wants it on its own handlers.
"""

from __future__ import annotations

import logging
import re

from assistant.privacy.redaction import mask_personal

TOKEN_MASK = "[token removed]"
# a JWT anywhere (base64url header `{"…`, payload, signature), and the value of a token-like URL parameter:
# our sockets take tokens in their first frame, but an old or careless client may still put one in a URL,
# which uvicorn logs at INFO
_JWT_RE = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
_TOKEN_PARAM_RE = re.compile(r"(?i)([?&](?:token|access_token|jwt|auth)=)[^&\s\"']+")
_CUSTOMER_IN_PATH_RE = re.compile(r"(/customers/)(?!\[customer id\])[^/\s?#\"']+")  # idempotent: masked twice


def mask_log_text(text: str) -> str:
    """Tokens, then personal data, masked (a log line's whole text, or one of its arguments)."""
    text = _CUSTOMER_IN_PATH_RE.sub(r"\1[customer id]", text)
    return mask_personal(_JWT_RE.sub(TOKEN_MASK, _TOKEN_PARAM_RE.sub(r"\1" + TOKEN_MASK, text)))


class RedactingFilter(logging.Filter):
    """Masks tokens, card numbers, IBANs, passwords, e-mail addresses and phone numbers in a record (always
    keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_redacted", False):
        return record
    if isinstance(record.args, tuple):  # masked one by one: uvicorn's access log formatter reads them
        record.args = tuple(mask_log_text(a) if isinstance(a, str) else a for a in record.args)
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler to report
        return record
    masked = mask_log_text(message)
    if masked != message:  # what the format string itself, or non-string arguments, carried
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_log_text(record.exc_text)
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
