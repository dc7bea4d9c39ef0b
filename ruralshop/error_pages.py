"""Our error pages under DEBUG too: an unknown URL shows templates/404.html, not Django's list of every URL.

Django answers a URL that matches no pattern with its technical 404 page whenever DEBUG is on
(``handler404`` and 404.html are used only with DEBUG off).  On ``make run`` that page is English,
outside the site's layout, and lists every URL pattern; a person trying the demo sees no way back.
This middleware swaps it for our page when the URL did not resolve (``request.resolver_match`` is
None).  A 404 raised by a view keeps Django's page under DEBUG (it says which view refused and why),
and so do the tracebacks of 500s.  ``DEBUG_404_PAGE=false`` brings the URL list back.
"""

from django.conf import settings
from django.urls import Resolver404
from django.views.defaults import page_not_found


class DebugNotFoundPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and settings.DEBUG
            and settings.DEBUG_404_PAGE
            and getattr(request, "resolver_match", None) is None
        ):
            return page_not_found(request, Resolver404({"path": request.path_info}))
        return response
