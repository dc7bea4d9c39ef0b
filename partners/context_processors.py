from .access import STATION_ACTIONS, station_may


def station(request):
    """The station a view resolved (see partners.access.station_required), and what the user's role may do there.

    No query here: ``station_may`` is a dict of action → bool for the templates, so a link or button
    the role may not use is not shown (``{% if station_may.commissions %}``).
    """
    role = getattr(request, "station_role", None)
    return {
        "station": getattr(request, "station", None),
        "station_role": role,
        "station_may": {action: station_may(role, action) for action in STATION_ACTIONS},
    }
