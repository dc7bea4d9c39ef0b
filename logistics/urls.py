from django.urls import path

from . import views

urlpatterns = [
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/overdue/", views.overdue_tile, name="deliveries-overdue"),
    path("deliveries/<int:pk>/receive/", views.receive, name="delivery-receive"),
    path("county/dispatch/", views.dispatch_board, name="dispatch-board"),
    path("county/dispatch/plan/", views.plan_now, name="dispatch-plan"),
    path("county/exceptions/", views.exception_queue, name="county-exceptions"),
    path("county/exceptions/<str:number>/ship-again/", views.exception_ship_again, name="exception-ship-again"),
    path("county/exceptions/<str:number>/cancel/", views.exception_cancel, name="exception-cancel"),
    path("county/batches/<str:code>/manifest/", views.manifest, name="batch-manifest"),
    path("county/batches/<str:code>/manifest.csv", views.manifest_csv, name="batch-manifest-csv"),
]
