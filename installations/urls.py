from django.urls import path, re_path

from . import api, views

urlpatterns = [
    path("orders/<order_number:number>/installation/", views.book_installation, name="order-installation"),
    path("installations/", views.station_installations, name="station-installations"),
    path("installations/tile/", views.installations_tile, name="installations-tile"),
    path("installer/", views.installer_day, name="installer-day"),
    path("installer/appointments/<int:pk>/", views.installer_visit, name="installer-visit"),
    # The logistics API's installations (a client key): its technicians' appointments and their steps.  Any
    # number of digits reaches the view (and gets the API's JSON 404 there), not only the ones int() takes.
    path("api/v1/installations/", api.AppointmentDayApi.as_view(), name="api-installation-list"),
    re_path(
        r"^api/v1/installations/(?P<pk>-?[0-9]+)/on-the-way/$",
        api.AppointmentOnTheWayApi.as_view(),
        name="api-installation-on-the-way",
    ),
    re_path(
        r"^api/v1/installations/(?P<pk>-?[0-9]+)/installed/$",
        api.AppointmentInstalledApi.as_view(),
        name="api-installation-installed",
    ),
    re_path(
        r"^api/v1/installations/(?P<pk>-?[0-9]+)/failed/$",
        api.AppointmentFailedApi.as_view(),
        name="api-installation-failed",
    ),
]
