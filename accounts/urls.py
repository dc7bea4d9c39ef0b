from django.urls import path

from . import views

urlpatterns = [
    path("accounts/logout-everywhere/", views.logout_everywhere, name="logout-everywhere"),
]
