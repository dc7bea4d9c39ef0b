from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderCollectionApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", views.OrderDetailApi.as_view(), name="api-order-detail"),
]
