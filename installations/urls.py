from django.urls import path

from . import views

urlpatterns = [
    path("orders/<order_number:number>/installation/", views.book_installation, name="order-installation"),
    path("installations/", views.station_installations, name="station-installations"),
    path("installations/tile/", views.installations_tile, name="installations-tile"),
    path("installer/", views.installer_day, name="installer-day"),
    path("installer/appointments/<int:pk>/", views.installer_visit, name="installer-visit"),
]
