from django.urls import path

from . import views

urlpatterns = [
    path("county/review/", views.review_queue, name="county-review"),
    path("county/review/check/", views.review_check, name="county-review-check"),
    path("county/reviews/<int:pk>/", views.review_detail, name="county-review-detail"),
    path("county/call-backs/", views.call_backs, name="county-call-backs"),
    path("county/call-backs/<int:pk>/", views.call_back_record, name="county-call-back-record"),
]
