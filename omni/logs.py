"""Keep personal data out of the logs.

`PersonalDataFilter` sits on the log handlers (settings.LOGGING) and rewrites
each record before it is written: e-mail addresses, phone numbers and loyalty
card numbers in the message, its arguments and an attached traceback are
replaced by a masked form that still helps reading the log:

- ``giulia.rossi@example.it`` -> ``***@example.it`` (also URL-encoded, ``%40``);
- ``+39 333 123 4567``, ``0039 3331234567``, ``333-1234567`` -> ``***67``;
- a card number such as ``0420000000017`` -> ``***17``.

Phones and cards are not told apart: any run of 8 to 19 digits standing on
its own (an optional ``+``, ``%2B`` or ``00`` in front; spaces, dashes,
slashes, brackets or ``+`` between digits) is masked, except an ISO date.
Codes that mix letters and digits (order numbers, SKUs, UUIDs) and dotted
figures (amounts, addresses of machines) are left alone.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[\w.+'-]+(?:@|%40)((?:[\w-]+\.)+[A-Za-z]{2,})", re.IGNORECASE)
DIGITS = re.compile(
    r"(?<![\w%-])"  # not the tail of a code, of a %-escape or of a dashed id (a UUID)
    r"(?!\d{4}-\d{2}-\d{2}(?!\d))"  # an ISO date is not a phone
    r"(?:\+|%2B|00)?\d(?:[ +\-/()]{0,2}\d){7,18}"
    r"(?![\w])",
    re.IGNORECASE,
)


def mask(text: str) -> str:
    """The text with e-mail addresses, phone and card numbers masked."""
    text = EMAIL.sub(lambda m: f"***@{m.group(1)}", text)
    return DIGITS.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)


class PersonalDataFilter(logging.Filter):
    """Masks personal data in every record that passes; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True
