from django.urls import path
from rest_framework.routers import SimpleRouter

from omni.catalog.api import views

router = SimpleRouter()
router.register("locations", views.LocationViewSet, basename="location")
router.register("products", views.ProductViewSet, basename="product")

urlpatterns = [
    *router.urls,
    path("variants/", views.VariantListView.as_view(), name="variant-list"),
    path("variants/<str:sku>/", views.VariantDetailView.as_view(), name="variant-detail"),
]
