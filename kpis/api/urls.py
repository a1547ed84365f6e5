from django.urls import path

from kpis.api import views

urlpatterns = [
    path("events/", views.EventListView.as_view(), name="event-list"),
    path("social-metrics/", views.SocialMetricListView.as_view(), name="social-metric-list"),
    path("kpis/", views.KpiView.as_view(), name="kpis"),
]
