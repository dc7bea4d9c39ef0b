from django.urls import path, register_converter

from . import commission_views, insights_views, offline_views, views, way_back_views


class OrderNumberConverter:
    regex = "[0-9A-Z-]{6,20}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(OrderNumberConverter, "order_number")

urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/new/", views.order_create, name="order-create"),
    path("orders/offline/", offline_views.offline_counter, name="order-offline"),
    path("orders/sw.js", offline_views.offline_worker, name="order-offline-worker"),
    path("orders/new/villagers/", views.order_villager_search, name="order-villager-search"),
    path("orders/new/products/", views.order_product_search, name="order-product-search"),
    path("orders/new/line/", views.order_cart_line, name="order-cart-line"),
    path("orders/<order_number:number>/", views.order_detail, name="order-detail"),
    path("orders/<order_number:number>/receipt/", views.order_receipt, name="order-receipt"),
    path("orders/<order_number:number>/slip/", views.order_slip, name="order-slip"),
    path("orders/<order_number:number>/resend-code/", views.order_resend_code, name="order-resend-code"),
    path("orders/<order_number:number>/confirm/", views.order_confirm, name="order-confirm"),
    path("orders/<order_number:number>/cancel/", views.order_cancel, name="order-cancel"),
    path("orders/<order_number:number>/hand-over/", views.order_hand_over, name="order-hand-over"),
    path("orders/<order_number:number>/return/", views.order_return, name="order-return"),
    path("orders/<order_number:number>/send-back/", views.order_send_back, name="order-send-back"),
    path("insights/", insights_views.station_insights, name="station-insights"),
    path("refunds/", way_back_views.refund_list, name="refund-list"),
    path("refunds/<int:pk>/pay/", way_back_views.refund_pay, name="refund-pay"),
    path("going-back/", way_back_views.going_back, name="going-back"),
    path("commissions/", commission_views.commission_overview, name="commission-overview"),
    path("commissions/<int:pk>/", commission_views.statement_detail, name="statement-detail"),
    path("commissions/<int:pk>/csv/", commission_views.statement_csv, name="statement-csv"),
    path("county/commissions/", commission_views.county_commissions, name="county-commissions"),
    path("county/statements/<int:pk>/approve/", commission_views.statement_approve, name="statement-approve"),
    path("county/statements/<int:pk>/paid/", commission_views.statement_mark_paid, name="statement-paid"),
]
