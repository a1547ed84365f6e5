from django.urls import path

from omni.webhooks.api import views

urlpatterns = [
    path("webhooks/", views.SubscriptionListView.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", views.SubscriptionDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/deliveries/", views.DeliveryListView.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        views.RedeliverView.as_view(),
        name="webhook-redeliver",
    ),
]
