from django.urls import path

from . import views

urlpatterns = [
    path("cash/", views.cash_book, name="cash-book"),
    path("cash/tile/", views.cash_tile, name="cash-tile"),
    path("cash/close/", views.close_day, name="cash-close"),
    path("cash/closes/<int:pk>/", views.close_slip, name="cash-close-slip"),
    path("cash/remittances/new/", views.remittance_new, name="cash-remittance-new"),
    path("cash/commission/<int:pk>/keep/", views.keep_commission, name="cash-keep-commission"),
    path("county/cash/", views.county_cash, name="county-cash"),
    path("county/cash/limit/", views.credit_limit, name="county-cash-limit"),
    path("county/cash.csv", views.county_cash_csv, name="county-cash-csv"),
    path("county/cash/float/", views.float_give, name="county-cash-float"),
    path("county/remittances/<int:pk>/confirm/", views.remittance_confirm, name="remittance-confirm"),
]
