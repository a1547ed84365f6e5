"""For the crash test only: a request sent with `X-Test-Pause-After-Commit` stops right after its commit.

The worker writes its pid to the file named by `PAUSE_MARKER` and sleeps, so
the test can kill it between the commit and the answer. Used by
`tests/omni/settings_pause_after_commit.py`, never by Omni's own settings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.db import transaction


def pause() -> None:
    Path(os.environ["PAUSE_MARKER"]).write_text(str(os.getpid()))
    time.sleep(600)


class PauseAfterCommit:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.headers.get("X-Test-Pause-After-Commit"):
            transaction.on_commit(pause)  # at once when no transaction is open: the work is committed
        return response
