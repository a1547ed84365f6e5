"""WSGI entry point (gunicorn omni.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")

application = get_wsgi_application()


def freeze_what_was_loaded() -> None:
    """Import every view, then move every object alive so far out of the garbage collector's sight.

    The modules, models, URL patterns and serializers loaded at start live as
    long as the process; without this, every full collection (one in a few
    hundred requests that allocate a lot, such as a product page) walks them
    all again, and that request takes several times its median.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view and what it imports
    gc.collect()
    gc.freeze()


freeze_what_was_loaded()
