"""`tests/services.sh`, the first command of a newcomer, works from a clone the postgres user cannot enter.

As root, PostgreSQL runs as the postgres user, which cannot enter /root or any
mode-700 folder. The script is run from such a folder, with no services given,
so it starts its own PostgreSQL and Redis: the command it wraps must run and
reach the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_services_start_from_a_clone_inside_a_mode_700_folder():
    if shutil.which("redis-server") is None or not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("needs PostgreSQL and Redis installed: `make test` installs them")
    with tempfile.TemporaryDirectory() as private:
        os.chmod(private, 0o700)
        clone = Path(private) / "omni"
        (clone / "tests").mkdir(parents=True)
        shutil.copy2(ROOT / "tests" / "services.sh", clone / "tests" / "services.sh")
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        env.setdefault("CHROMIUM_PATH", "/bin/true")  # not needed here: nothing to install
        probe = 'psql "$DATABASE_URL" -tAc "select 42" && redis-cli -u "$CELERY_BROKER_URL" ping'
        result = subprocess.run(
            ["bash", str(clone / "tests" / "services.sh"), "bash", "-c", probe],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.split() == ["42", "PONG"]
        assert not list((clone / ".services").glob("*")), "the script leaves nothing behind"
