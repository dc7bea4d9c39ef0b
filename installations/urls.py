from django.urls import path

from . import views

urlpatterns = [
    path("orders/<order_number:number>/installation/", views.book_installation, name="order-installation"),
    path("installer/", views.installer_day, name="installer-day"),
    path("installer/appointments/<int:pk>/", views.installer_visit, name="installer-visit"),
]
