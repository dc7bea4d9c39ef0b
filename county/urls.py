from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="dashboard"),  # a county manager lands on the county workspace
    path("county/", views.workspace, name="county-home"),
    path("county/charts/", views.county_charts, name="county-charts"),
]
