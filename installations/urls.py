from django.urls import path

from . import views

urlpatterns = [
    path("orders/<order_number:number>/installation/", views.book_installation, name="order-installation"),
]
