urlpatterns: list = []  # the station JSON API: see orders/api/views.py
