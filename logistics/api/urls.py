from django.urls import path, re_path

from logistics import converters  # also registers batch_code and parcel_label

from . import views

urlpatterns = [
    path("batches/", views.BatchListApi.as_view(), name="api-batch-list"),
    path("batches/<batch_code:code>/", views.BatchDetailApi.as_view(), name="api-batch-detail"),
    path("batches/<batch_code:code>/depart/", views.BatchDepartApi.as_view(), name="api-batch-depart"),
    # Any integer, of any length, reaches the view (and gets a JSON 404 there), not only the ones
    # Django's int converter takes.
    re_path(
        r"^batches/(?P<code>" + converters.BatchCodeConverter.regex + r")/stops/(?P<sequence>-?[0-9]+)/arrive/$",
        views.StopArriveApi.as_view(),
        name="api-stop-arrive",
    ),
    re_path(
        r"^batches/(?P<code>"
        + converters.BatchCodeConverter.regex
        + r")/stops/(?P<sequence>-?[0-9]+)/pickups/collected/$",
        views.StopPickupsCollectedApi.as_view(),
        name="api-stop-pickups-collected",
    ),
    path("batches/<batch_code:code>/complete/", views.BatchCompleteApi.as_view(), name="api-batch-complete"),
    path("parcels/<parcel_label:label>/", views.ParcelTrackingApi.as_view(), name="api-parcel"),
    path("parcels/<parcel_label:label>/exception/", views.ParcelExceptionApi.as_view(), name="api-parcel-exception"),
    # A path under batches/ or parcels/ that names no batch or parcel (a NUL byte, a 5,000-character code):
    # the API's JSON 404 after the key is checked, as from the views, not the site's HTML page.
    re_path(r"^(?P<kind>batches|parcels)/(?P<rest>.+)$", views.NotFoundApi.as_view(), name="api-not-found"),
]
