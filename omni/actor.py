"""Who made a change: every write of stock, points, refunds and personal data names one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omni.models import ApiClient


@dataclass(frozen=True)
class Actor:
    """A staff user, an API client, or the system itself (both None)."""

    user: Any = None
    api_client: ApiClient | None = None

    @classmethod
    def of(cls, principal: Any) -> Actor:
        """The actor behind a request's `user` (a Django user or an ApiClient)."""
        if isinstance(principal, ApiClient):
            return cls(api_client=principal)
        if principal is not None and getattr(principal, "is_authenticated", False):
            return cls(user=principal)
        return cls()

    def __str__(self) -> str:
        if self.api_client is not None:
            return f"API client {self.api_client.name}"
        if self.user is not None:
            return f"user {self.user.get_username()}"
        return "system"


SYSTEM = Actor()
