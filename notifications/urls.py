from django.urls import path

from . import inbound

urlpatterns = [
    path("sms/inbound/", inbound.inbound_sms, name="sms-inbound"),
]
