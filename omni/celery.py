"""The Celery application: the composition root of Omni's background work.

Tasks are found in every installed app's ``tasks`` module. With no
``CELERY_BROKER_URL`` the settings make them run eagerly in the process.
"""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")

app = Celery("omni")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False)
def _task_starting(sender=None, **kwargs):
    # Imported here: the models are not ready when this module is.
    from omni.outbox import task_starting

    task_starting(sender=sender, **kwargs)
