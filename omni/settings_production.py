"""Production settings: the base settings with DEBUG off and HTTPS enforced.

Use with ``DJANGO_SETTINGS_MODULE=omni.settings_production``. SECRET_KEY and
ALLOWED_HOSTS and CACHE_URL must come from the environment; ``manage.py check --deploy``
passes with no warnings.
"""

import os

os.environ.setdefault("DEBUG", "false")

from omni.settings import *
from omni.settings import REST_FRAMEWORK, env_bool

if DEBUG:
    raise ImproperlyConfigured("omni.settings_production cannot run with DEBUG on.")
if not os.environ.get("CACHE_URL"):
    # Rate limits and the admin lockout count in the cache: a cache per process would let each
    # gunicorn worker count on its own, multiplying every limit by the number of workers.
    raise ImproperlyConfigured(
        "omni.settings_production needs CACHE_URL (e.g. redis://redis:6379/1): a cache that every process shares."
    )

# Static files are served by the application itself (WhiteNoise), after collectstatic.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
)
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]

# Behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
STORAGES["staticfiles"] = {"BACKEND": "omni.staticfiles.StaticFilesStorage"}
