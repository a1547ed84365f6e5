"""Settings come from the environment; production settings pass check --deploy."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'options': db.get('OPTIONS', {}), "
    "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL, 'hosts': s.ALLOWED_HOSTS, "
    "'debug': s.DEBUG, 'tz': s.TIME_ZONE, 'lang': s.LANGUAGE_CODE, 'languages': [c for c, _ in s.LANGUAGES], "
    "'cache': s.CACHES['default']}))"
)
OMNI_VARIABLES = [
    "DATABASE_URL",
    "CACHE_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DATABASE_SERVER_SIDE_BINDING",
    "DATABASE_PREPARE_THRESHOLD",
]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in OMNI_VARIABLES}
    clean.update({"DJANGO_SETTINGS_MODULE": "omni.settings", **env})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def settings_under(**env: str) -> dict:
    result = run_python(PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_nothing_set_omni_runs_embedded_on_sqlite_with_eager_tasks():
    seen = settings_under()
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["name"].endswith("db.sqlite3")
    assert seen["options"]["transaction_mode"] == "IMMEDIATE"
    assert seen["options"]["timeout"] >= 5
    assert seen["eager"] is True
    assert seen["tz"] == "Europe/Rome"
    assert seen["lang"] == "it"
    assert seen["languages"] == ["it", "en"]
    assert seen["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_shared_cache_is_the_redis_backend_that_keeps_its_client():
    seen = settings_under(CACHE_URL="redis://cache.internal:6379/1")
    assert seen["cache"] == {"BACKEND": "omni.cache.RedisCache", "LOCATION": "redis://cache.internal:6379/1"}


def test_database_url_and_broker_come_from_the_environment():
    seen = settings_under(
        DATABASE_URL="postgres://omni:pw@db.internal:5433/shop", CELERY_BROKER_URL="redis://cache:6379/1"
    )
    assert seen["engine"] == "django.db.backends.postgresql"
    assert seen["name"] == "shop"
    assert "transaction_mode" not in seen["options"]
    assert seen["eager"] is False
    assert seen["broker"] == "redis://cache:6379/1"


def test_postgresql_binds_on_the_server_and_prepares_a_statement_run_five_times_unless_told_not_to():
    url = "postgres://omni:pw@db.internal:5433/shop"
    on = settings_under(DATABASE_URL=url)["options"]
    assert (on["server_side_binding"], on["prepare_threshold"]) == (True, 5)
    off = settings_under(DATABASE_URL=url, DATABASE_SERVER_SIDE_BINDING="0")["options"]
    assert off["server_side_binding"] is False
    # Behind a pooler in transaction mode: binding on the server, nothing prepared.
    pooled = settings_under(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="off")["options"]
    assert (pooled["server_side_binding"], pooled["prepare_threshold"]) == (True, None)
    assert settings_under(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="0")["options"]["prepare_threshold"] == 0
    refused = run_python(PRINT_SETTINGS, DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="-1")
    assert refused.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD must be 0 or more" in refused.stderr
    # SQLite has neither option.
    assert "server_side_binding" not in settings_under()["options"]


def test_allowed_hosts_are_a_comma_separated_list():
    seen = settings_under(ALLOWED_HOSTS="shop.example.com, admin.example.com", DEBUG="false", SECRET_KEY="x" * 60)
    assert seen["hosts"] == ["shop.example.com", "admin.example.com"]
    assert seen["debug"] is False


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = run_python(PRINT_SETTINGS, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_check_deploy_with_no_warnings():
    clean = {k: v for k, v in os.environ.items() if k not in OMNI_VARIABLES}
    clean.update(
        DJANGO_SETTINGS_MODULE="omni.settings_production",
        SECRET_KEY="k3y-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
        ALLOWED_HOSTS="omni.example.com",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_shared_cache():
    result = run_python(
        PRINT_SETTINGS,
        DJANGO_SETTINGS_MODULE="omni.settings_production",
        SECRET_KEY="k3y-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
        ALLOWED_HOSTS="omni.example.com",
    )
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr


def test_the_demo_s_broker_of_files_has_its_folders_and_its_nightly_jobs_come_round_every_few_minutes(tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'eager': s.CELERY_TASK_ALWAYS_EAGER, 'results': s.CELERY_RESULT_BACKEND, "
        "'options': s.CELERY_BROKER_TRANSPORT_OPTIONS, "
        "'every': {n: str(j['schedule']) for n, j in s.CELERY_BEAT_SCHEDULE.items()}}))"
    )
    folder = tmp_path / "broker"
    result = run_python(
        code, CELERY_BROKER_URL="filesystem://", CELERY_BROKER_FOLDER=str(folder), CELERY_BEAT_EVERY_SECONDS="300"
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["eager"] is False and seen["results"] is None
    assert seen["options"]["data_folder_in"] == seen["options"]["data_folder_out"] == str(folder / "messages")
    assert (folder / "messages").is_dir() and (folder / "control").is_dir()
    assert seen["every"]["omni-outbox-relay"] == "60.0"  # already more often: kept
    assert seen["every"]["loyalty-recompute-tiers"] == "300.0"  # nightly: every five minutes instead
    assert seen["every"]["inventory-release-expired-holds"] == "300.0"
