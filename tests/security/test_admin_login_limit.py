"""Admin logins are limited against guessing."""

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


def test_after_five_failures_even_the_right_password_is_refused_for_a_while(client, settings):
    settings.ADMIN_LOGIN_FAILURE_LIMIT = 5
    User.objects.create_user("clerk", password="right-Password-1", is_staff=True)
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "clerk", "password": "wrong"})
        assert response.status_code == 200
    locked = client.post("/admin/login/", {"username": "clerk", "password": "right-Password-1"})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_do_not_lock_anyone_out(client):
    User.objects.create_user("clerk", password="right-Password-1", is_staff=True)
    for _ in range(2):
        client.post("/admin/login/", {"username": "clerk", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "clerk", "password": "right-Password-1"})
    assert response.status_code == 302


def test_one_clerks_failures_do_not_lock_out_a_colleague_at_the_same_address(client, settings):
    settings.ADMIN_LOGIN_FAILURE_LIMIT = 5
    User.objects.create_user("clerk", password="right-Password-1", is_staff=True)
    User.objects.create_user("colleague", password="right-Password-2", is_staff=True)
    for _ in range(6):
        client.post("/admin/login/", {"username": "clerk", "password": "wrong"})
    assert client.post("/admin/login/", {"username": "clerk", "password": "right-Password-1"}).status_code == 429
    response = client.post("/admin/login/", {"username": "colleague", "password": "right-Password-2"})
    assert response.status_code == 302


def test_many_failures_from_one_address_lock_that_address_whatever_the_username(client, settings):
    settings.ADMIN_LOGIN_FAILURE_LIMIT = 5
    settings.ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT = 12
    User.objects.create_user("clerk", password="right-Password-1", is_staff=True)
    for attempt in range(12):
        client.post("/admin/login/", {"username": f"guess-{attempt}", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "clerk", "password": "right-Password-1"})
    assert locked.status_code == 429
