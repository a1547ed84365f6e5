"""SMS backends for tests: one that fails once and then works, one that always fails."""

from customers import sms


class FailsOnce:
    failed = False

    def send_messages(self, messages):
        if not FailsOnce.failed:
            FailsOnce.failed = True
            raise ConnectionError("SMS gateway unreachable")
        sms.outbox.extend(messages)
        return len(messages)


class AlwaysFails:
    def send_messages(self, messages):
        raise ConnectionError("SMS gateway unreachable")
