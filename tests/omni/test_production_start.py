"""The production start of the README, run for real: check, collectstatic, gunicorn, and the pages answering.

`check --deploy` and `collectstatic` run as the operator runs them, with
`omni.settings_production`; then a real gunicorn serves the test database on
a free port, and the admin's login page, the API docs, the dashboards (as a
head-office user who logs in through the login form) and an API call with a
key must each answer 200. The requests say they came through the TLS proxy
(`X-Forwarded-Proto: https`), as the README's deployment has it.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection

from omni.api.keys import create_client
from tests.conftest import database_url_of
from tests.security.test_broker_down import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "prod-" + "Zq8vR2mT6wX1yB4nK7pL0sD3fG5hJ9" * 2
PASSWORD = "a-long-head-office-password-42"


def production_env(static_root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="omni.settings_production",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url_of(connection.settings_dict),
        STATIC_ROOT=str(static_root),
        DB_CONN_MAX_AGE="0",
        **extra,
    )
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs Redis for the shared cache: `make test` starts it and sets CELERY_BROKER_URL")
    env.setdefault("CACHE_URL", broker.rsplit("/", 1)[0] + "/1")  # the shared cache production asks for
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


class Browser:
    """Just enough of a browser over http.client: cookies kept by hand (they are Secure, the hop is plain HTTP)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        origin = f"https://127.0.0.1:{self.port}"
        sent = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https", "Accept-Language": "en"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            sent.update({"Origin": origin, "Referer": origin + path})
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        content = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                self.cookies[cookie_name] = rest.split(";", 1)[0]
        conn.close()
        return response.status, dict(response.getheaders()), content


def wait_until_listening(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/admin/login/", headers={"X-Forwarded-Proto": "https"})
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start listening")


@pytest.fixture
def gunicorn_binary():
    path = Path(sys.executable).with_name("gunicorn")
    if not path.exists() and shutil.which("gunicorn") is None:
        pytest.skip("needs gunicorn: `make install` installs it")
    return str(path if path.exists() else shutil.which("gunicorn"))


def test_the_readme_production_start_serves_the_admin_the_docs_the_dashboards_and_the_api(
    postgres, tmp_path, gunicorn_binary
):
    env = production_env(tmp_path / "static")
    checked = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    collected = manage(env, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stdout + collected.stderr

    call_command("setup_roles", verbosity=0)
    head = User.objects.create_user("direzione", password=PASSWORD, is_staff=True)
    head.groups.add(Group.objects.get(name="Head office"))
    _record, key = create_client(name="smoke", scopes=["catalog"])

    port = free_port()
    server = subprocess.Popen(
        [gunicorn_binary, "omni.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_listening(port, server)
        browser = Browser(port)

        status, _, page = browser.request("GET", "/admin/login/")
        assert status == 200, page[:2000]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()

        status, _, page = browser.request("GET", "/api/docs/")
        assert status == 200, page[:2000]
        assert b"swagger" in page.lower()

        status, headers, page = browser.request(
            "POST",
            "/admin/login/?next=/dashboards/",
            body=f"csrfmiddlewaretoken={token}&username=direzione&password={PASSWORD}&next=/dashboards/",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, page[:2000]
        assert headers["Location"] == "/dashboards/"
        status, _, page = browser.request("GET", "/dashboards/")
        assert status == 200, page[:2000]

        status, _, body = Browser(port).request("GET", "/api/v1/locations/", headers={"Authorization": f"Bearer {key}"})
        assert status == 200, body[:2000]
        assert b'"results"' in body
    finally:
        server.terminate()
        server.wait(30)
