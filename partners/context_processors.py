def station(request):
    """The station a view resolved (see partners.views.station_required); no query here."""
    return {"station": getattr(request, "station", None)}
