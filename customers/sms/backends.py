"""The SMS backends that come with Omni: print to the console, or keep in memory (tests)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from customers import sms


class ConsoleBackend:
    """Writes each SMS to standard output: the default, for the demo and a laptop."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send_messages(self, messages: Sequence[sms.SMS]) -> int:
        for message in messages:
            self.stream.write(f"SMS to {message.to}\n{message.body}\n{'-' * 40}\n")
        self.stream.flush()
        return len(messages)


class LocmemBackend:
    """Keeps each SMS in `customers.sms.outbox`, as Django's locmem mail backend keeps mail."""

    def send_messages(self, messages: Sequence[sms.SMS]) -> int:
        sms.outbox.extend(messages)
        return len(messages)
