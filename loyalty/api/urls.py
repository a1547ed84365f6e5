from django.urls import path

from loyalty.api import views

urlpatterns = [
    path("loyalty/accounts/<str:card>/", views.AccountView.as_view(), name="loyalty-account"),
    path("loyalty/accounts/<str:card>/ledger/", views.LedgerView.as_view(), name="loyalty-ledger"),
    path("loyalty/quote/", views.QuoteView.as_view(), name="loyalty-quote"),
    path("gift-cards/<str:code>/", views.GiftCardView.as_view(), name="gift-card"),
    path("parity/", views.ParityView.as_view(), name="parity"),
]
