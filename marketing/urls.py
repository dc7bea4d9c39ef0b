from django.urls import path

from . import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_new, name="campaign-new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/cancel/", views.campaign_cancel, name="campaign-cancel"),
    path("county/campaigns/", views.county_campaigns, name="county-campaigns"),
    path("county/campaigns/<int:pk>/", views.county_campaign_decide, name="county-campaign-decide"),
]
