"""Omni's settings plus the crash test's pause after the commit, innermost, next to the views."""

from omni.settings import *  # noqa: F403
from omni.settings import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE, "tests.omni.pause_after_commit.PauseAfterCommit"]
