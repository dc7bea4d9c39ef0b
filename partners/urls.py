from django.urls import path

from . import views

urlpatterns = [
    path("villagers/", views.villager_list, name="villager-list"),
    path("villagers/new/", views.villager_create, name="villager-create"),
    path("villagers/<int:pk>/", views.villager_detail, name="villager-detail"),
    path("villagers/<int:pk>/edit/", views.villager_edit, name="villager-edit"),
    path("villagers/<int:pk>/anonymise/", views.villager_anonymise, name="villager-anonymise"),
]
