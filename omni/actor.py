"""Who made a change: every write of stock, points, refunds and personal data names one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omni.models import ApiClient

ADMIN, API_SESSION, API_KEY, SYSTEM_DOOR = "admin", "api_session", "api_key", "system"


@dataclass(frozen=True)
class Actor:
    """A staff user, an API client, or the system itself (both None)."""

    user: Any = None
    api_client: ApiClient | None = None
    door: str = ""  # how a user came in: "admin" or "api_session" (audits of personal data name it)

    @classmethod
    def of(cls, principal: Any, door: str = "") -> Actor:
        """The actor behind a request's `user` (a Django user or an ApiClient)."""
        if isinstance(principal, ApiClient):
            return cls(api_client=principal, door=API_KEY)
        if principal is not None and getattr(principal, "is_authenticated", False):
            return cls(user=principal, door=door)
        return cls(door=SYSTEM_DOOR)

    @property
    def door_name(self) -> str:
        """The door a change came through: admin, api_session, api_key or system."""
        if self.api_client is not None:
            return API_KEY
        if self.user is None:
            return SYSTEM_DOOR
        return self.door or ADMIN

    def __str__(self) -> str:
        if self.api_client is not None:
            return f"API client {self.api_client.name}"
        if self.user is not None:
            return f"user {self.user.get_username()}"
        return "system"


SYSTEM = Actor()
