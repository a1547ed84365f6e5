"""The Celery application: the composition root of Omni's background work.

Tasks are found in every installed app's ``tasks`` module. With no
``CELERY_BROKER_URL`` the settings make them run eagerly in the process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")

app = Celery("omni")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
