from django.urls import path

from . import converters, promise_views, views  # noqa: F401 - converters registers batch_code, parcel_label, pickup_label

urlpatterns = [
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/overdue/", views.overdue_tile, name="deliveries-overdue"),
    path("deliveries/<int:pk>/receive/", views.receive, name="delivery-receive"),
    path("deliveries/parcels/<parcel_label:label>/found/", views.parcel_found, name="parcel-found"),
    # A parcel's photo: the station's staff and the county's managers (views.parcel_photo checks which).
    path("parcel-photos/<int:pk>/", views.parcel_photo, name="parcel-photo"),
    path("parcel-photos/<int:pk>/thumbnail/", views.parcel_photo, {"size": "thumbnail"}, name="parcel-photo-thumbnail"),
    path("county/dispatch/", views.dispatch_board, name="dispatch-board"),
    path("county/dispatch/plan/", views.plan_now, name="dispatch-plan"),
    path("county/exceptions/", views.exception_queue, name="county-exceptions"),
    path("county/promises/", promise_views.promises, name="county-promises"),
    path("county/exceptions/<str:number>/ship-again/", views.exception_ship_again, name="exception-ship-again"),
    path("county/exceptions/<str:number>/cancel/", views.exception_cancel, name="exception-cancel"),
    path("county/exceptions/<str:number>/book-again/", views.exception_book_again, name="exception-book-again"),
    path("county/pickups/", views.pickups_to_receive, name="county-pickups"),
    path("county/pickups/<pickup_label:label>/", views.pickup_receive, name="county-pickup"),
    path("county/batches/<batch_code:code>/manifest/", views.manifest, name="batch-manifest"),
    path("county/batches/<batch_code:code>/manifest.csv", views.manifest_csv, name="batch-manifest-csv"),
]
