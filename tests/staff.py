"""Staff of the roles in omni.roles (a store's clerk, head office), for tests that read pages as they do."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles

CLERK = "Store staff"
HEAD_OFFICE = "Head office"


def staff(username: str, role: str, location=None) -> User:
    """A member of staff in `role`'s group (the groups are made first), assigned to `location` if given."""
    setup_roles()
    user = User.objects.create_user(username, password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name=role))
    if location is not None:
        StaffAssignment.objects.create(user=user, location=location)
    return user


def page(client, url: str, language: str) -> str:
    """The page's HTML as a browser set to `language` gets it."""
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()
