"""Serializer fields shared by the API's inputs."""

from __future__ import annotations

from rest_framework import serializers

from omni.api.filters import BIGGEST_ID


class IdField(serializers.IntegerField):
    """A row's id as input: a whole number the database can hold (1 .. 2**63-1).

    A bigger number would reach the database and fail there (SQLite cannot
    even bind it); here it answers 400 `invalid` before anything is read.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGGEST_ID)
        super().__init__(**kwargs)
