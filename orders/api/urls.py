from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderCollectionApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", views.OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<str:number>/confirm/", views.OrderConfirmApi.as_view(), name="api-order-confirm"),
    path("orders/<str:number>/hand-over/", views.OrderHandOverApi.as_view(), name="api-order-hand-over"),
    path("orders/<str:number>/cancel/", views.OrderCancelApi.as_view(), name="api-order-cancel"),
    path("orders/<str:number>/return/", views.OrderReturnApi.as_view(), name="api-order-return"),
    # The offline counter's copies (orders/api/views.py: ETag and 304)
    path("catalog/", views.CatalogApi.as_view(), name="api-catalog"),
    path("villagers/", views.VillagersApi.as_view(), name="api-villagers"),
]
