"""Omni: the omnichannel retail back-office (the Django project package)."""

from omni.celery import app as celery_app

__all__ = ["celery_app"]
