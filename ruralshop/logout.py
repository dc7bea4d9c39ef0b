"""Logging out: a GET of /accounts/logout/ is a page with the button; the POST logs out.

Django 5's LogoutView takes POST only (a GET that logged out could be set off by any link or
image on another site), so a typed or bookmarked /accounts/logout/ was a blank 405.
"""

from django.contrib.auth import views as auth_views
from django.template.response import TemplateResponse


class LogoutView(auth_views.LogoutView):
    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return TemplateResponse(request, "registration/logout.html")
