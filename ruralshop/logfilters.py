"""Personal data and keys out of the logs and error reports (PIPL: a log line is not a place for a phone number).

``RedactFilter`` sits on every handler of ``LOGGING``; it rewrites the record in
place, so whatever handles the record after it (another handler, pytest's
capture) sees the redacted text too.  ``RedactingExceptionReporter`` does the
same for the error e-mails (and the debug page), whose body is built from the
traceback's frames and the request, not from the log record.
"""

import logging
import re

from django.views.debug import ExceptionReporter

# A mainland mobile number, bare or with the country code (+86, 86, 0086), with
# or without separators, not part of a longer run of digits (order numbers, timestamps).
_PHONE = re.compile(r"(?<![\d])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![\d])")
# Authorization header values: DRF and logistics tokens, the API key header, the SMS gateway's bearer.
_AUTH_VALUE = re.compile(r"(?i)\b(Token|Bearer|Api-Key|Basic)(\s+|\s*[:=]\s*['\"]?)([A-Za-z0-9._~+/=-]{8,})")
# A logistics key (djangorestframework-api-key: 8-character prefix "." 32-character secret) anywhere:
# the prefix stays (it is stored in clear and names the key), the secret goes.
_LOGISTICS_KEY = re.compile(r"\b([A-Za-z0-9]{8})\.[A-Za-z0-9]{32}\b")
# key=value pairs in query strings, form bodies and reprs.
_SECRET_PARAM = re.compile(
    r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password)(['\"]?\s*[:=]\s*['\"]?)([^\s&'\",;}]+)"
)

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """The text with phone numbers masked (138****5678) and keys replaced."""
    if not text:
        return text
    text = _AUTH_VALUE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _LOGISTICS_KEY.sub(lambda m: f"{m[1]}.{REDACTED}", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _PHONE.sub(lambda m: f"{m[1]}****{m[3]}", text)


class RedactFilter(logging.Filter):
    """Masks phone numbers and keys in a record's message, arguments and exception text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a badly formatted record is logging's to report, with our redaction
            message = f"{record.msg} {record.args!r}"
        clean = redact(message)
        if clean != message:
            # The arguments are merged into the message: an argument cannot be masked on its own
            # once "%s" may have cut it or joined it with its neighbours.
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters use exc_text when it is set; exc_info stays for the error e-mail's reporter.
            record.exc_text = redact(record.exc_text or logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingExceptionReporter(ExceptionReporter):
    """Django's error report (e-mail to ADMINS, the debug page) with phone numbers and keys masked.

    Django already hides settings and headers whose name looks secret; the
    frames' local variables, the POST data and the URL may still hold a phone number.
    """

    def get_traceback_text(self):
        return redact(super().get_traceback_text())

    def get_traceback_html(self):
        return redact(super().get_traceback_html())
