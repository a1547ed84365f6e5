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
