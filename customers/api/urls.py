from django.urls import path

from customers.api import views

urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/identify/", views.IdentifyView.as_view(), name="customer-identify"),
    path("customers/import/", views.CustomerImportView.as_view(), name="customer-import"),
    path("customers/import/<int:job>/", views.CustomerImportStatusView.as_view(), name="customer-import-status"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<int:pk>/consents/", views.ConsentsView.as_view(), name="customer-consents"),
    path("customers/<int:pk>/timeline/", views.TimelineView.as_view(), name="customer-timeline"),
    path("customers/<int:pk>/export/", views.ExportView.as_view(), name="customer-export"),
    path("customers/<int:pk>/erase/", views.EraseView.as_view(), name="customer-erase"),
]
