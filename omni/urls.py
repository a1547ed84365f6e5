"""The project's URLs: the admin, the API (v1), its schema and docs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from omni.api.errors import api_not_found, api_server_error, is_api_path
from omni.views import managers_home

# Each API module owns its own first path segments (no two share one), so the order below changes no match;
# the busiest come first, since a path is tried against the patterns in order (the order POST, availability,
# identify), and the API before the admin's hundreds of patterns.
api_v1 = [
    path("", include("omni.orders.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("loyalty.api.urls")),
    path("", include("omni.catalog.api.urls")),
    path("", include("returns.api.urls")),
    path("", include("kpis.api.urls")),
    path("", include("omni.webhooks.api.urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switch in the header
    path("dashboards/", include("kpis.urls")),
    path("managers/", managers_home, name="managers_home"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]


def handler404(request, exception=None):
    if is_api_path(request.path):
        return api_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if is_api_path(request.path):
        return api_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)
