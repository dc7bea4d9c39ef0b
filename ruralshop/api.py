"""What every API of the project shares: a JSON parser and an exception handler that never answer 500 for bad input."""

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

DATABASE_UNAVAILABLE = _(
    "The database is unavailable for a moment and nothing was stored; try again "
    "(with the same Idempotency-Key, a placement happens once)."
)


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is larger than this server accepts.")
    default_code = "request_too_large"


class ShallowJSONParser(JSONParser):
    """JSON, with ``[[[[…`` nested thousands deep refused as a parse error.

    ``json`` raises RecursionError there, not the ValueError DRF turns into a
    400, so a 100 kB body would otherwise be a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deeply.")) from None


def exception_handler(exc, context):
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE as it is read;
    # left alone that is an HTML 400 from Django, not an answer of the API.
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away mid-request (a restart, a failover, a dropped link): its
        # transaction rolled back, so nothing of the request is stored and a retry is safe.
        return Response(
            {"detail": str(DATABASE_UNAVAILABLE)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return drf_exception_handler(exc, context)
