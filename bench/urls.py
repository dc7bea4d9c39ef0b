"""The product's URLs plus the bare reference endpoints the benchmark compares against.

Served only by bench/run.py (bench/settings.py); never part of ruralshop.urls.
"""

from django.db import connection
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

TABLE = "bench_row"


class RowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    value = serializers.IntegerField()


class BareInsert(APIView):
    """One INSERT behind DRF: the ceiling for a write endpoint on this stack."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} (name, value) VALUES (%s, %s) RETURNING id", ["row", 1])  # noqa: S608
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=201)


class BareList(APIView):
    """Fifty rows through a DRF serializer: the ceiling for a read endpoint."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, name, value FROM {TABLE} ORDER BY id LIMIT 50")  # noqa: S608
            rows = [{"id": r[0], "name": r[1], "value": r[2]} for r in cursor.fetchall()]
        return Response(RowSerializer(rows, many=True).data)


urlpatterns = [
    path("bench/insert/", BareInsert.as_view()),
    path("bench/list/", BareList.as_view()),
    path("", include("ruralshop.urls")),
]
