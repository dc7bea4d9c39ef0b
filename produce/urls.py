from django.urls import path

from . import figures_views, views

urlpatterns = [
    path("produce/", views.lot_list, name="produce-list"),
    path("produce/new/", views.lot_new, name="produce-new"),
    path("produce/<str:number>/", views.lot_detail, name="produce-detail"),
    # A lot's photo: the station's staff and the county's managers (views.lot_photo checks which).
    path("produce-photos/<str:number>/", views.lot_photo, name="produce-photo"),
    path(
        "produce-photos/<str:number>/thumbnail/", views.lot_photo, {"size": "thumbnail"}, name="produce-photo-thumbnail"
    ),
    path("county/produce/", views.county_lots, name="county-produce"),
    path("county/produce/figures/", figures_views.county_figures, name="county-produce-figures"),
    path("county/produce/<str:number>/", views.county_lot, name="county-produce-lot"),
    path("county/produce/<str:number>/label/", views.lot_label, name="produce-label"),
]
