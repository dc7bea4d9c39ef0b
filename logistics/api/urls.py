from django.urls import path, re_path

from . import views

urlpatterns = [
    path("batches/", views.BatchListApi.as_view(), name="api-batch-list"),
    path("batches/<str:code>/", views.BatchDetailApi.as_view(), name="api-batch-detail"),
    path("batches/<str:code>/depart/", views.BatchDepartApi.as_view(), name="api-batch-depart"),
    # Any integer, of any length, reaches the view (and gets a JSON 404 there), not only the ones
    # Django's int converter takes.
    re_path(
        r"^batches/(?P<code>[^/]+)/stops/(?P<sequence>-?[0-9]+)/arrive/$",
        views.StopArriveApi.as_view(),
        name="api-stop-arrive",
    ),
    path("batches/<str:code>/complete/", views.BatchCompleteApi.as_view(), name="api-batch-complete"),
    path("parcels/<str:label>/", views.ParcelTrackingApi.as_view(), name="api-parcel"),
    path("parcels/<str:label>/exception/", views.ParcelExceptionApi.as_view(), name="api-parcel-exception"),
]
