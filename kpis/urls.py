"""The dashboards, under /dashboards/."""

from django.urls import path

from kpis import views

app_name = "kpis"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("channels/", views.channels, name="channels"),
    path("stores/", views.stores, name="stores"),
    path("journeys/", views.journeys, name="journeys"),
]
