from django.urls import path

from inventory.api import views

urlpatterns = [
    path("stock/<str:location_code>/<str:sku>/", views.StockLevelView.as_view(), name="stock-level"),
    path("stock/", views.StockListView.as_view(), name="stock-list"),
    path("reservations/", views.ReservationListView.as_view(), name="reservation-list"),
    path("reservations/<int:reservation_id>/", views.ReservationDetailView.as_view(), name="reservation-detail"),
    path("reservations/<int:reservation_id>/cancel/", views.ReservationCancelView.as_view(), name="reservation-cancel"),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
]
