"""The database router: writes and migrations on the primary, some reads on a replica (omni/replicas.py)."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS

from omni import replicas


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return replicas.read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        replicas.mark_written()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # A row read from a replica is the primary's row: relating it to one read from the primary is fine.
        same_data = {DEFAULT_DB_ALIAS, *replicas.replica_aliases()}
        if obj1._state.db in same_data and obj2._state.db in same_data:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
