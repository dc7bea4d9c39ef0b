"""Who may see what: the one place that scopes pages to the user's station or county, and says which role may do what.

The roles:

- station staff, a partner or an assistant (``StationStaff.role``): every partner page, scoped to
  their own station; another station's object is a 404.  Only the partner sees the commission
  (the partner's income), takes goods back (a return gives money back to the villager), pays
  refunds out of the drawer and anonymises a villager (it cannot be undone);
  an assistant works the counter: villagers, orders, payment, hand-over, deliveries, sending back
  goods a villager refused or never collected, and sees the refunds owed (without paying them).
- a county manager (``CountyManager``): the county pages (/county/...: the workspace, commission
  and statements, dispatch board and planning, manifests), scoped to their counties; another
  county's object is a 404, and so is any county page for someone who manages no county.
  Their home page (/) is the county workspace.
- an admin (a staff superuser): the Django admin, and the county pages of every county; with no
  station, their home page is the county workspace too.
- a logistics provider: the logistics API only, by key (``logistics.api.authentication``).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors
from .models import County, StationStaff

PARTNER = StationStaff.Role.PARTNER
ASSISTANT = StationStaff.Role.ASSISTANT
STATION_ROLES = frozenset({PARTNER, ASSISTANT})

# What each station role may do beyond the counter work every staff member does (the only table
# of it: views check it through ``station_required(action=...)``, templates through ``station_may``).
STATION_ACTIONS: dict[str, frozenset[str]] = {
    "commissions": frozenset({PARTNER}),  # the commission page, statements and their CSV: the partner's income
    "return_order": frozenset({PARTNER}),  # approving a return: money goes back, the commission is reversed
    "anonymise_villager": frozenset({PARTNER}),  # erasing a villager's name and phone for good, at their request
    # Sending goods at the station back (the villager refused them, or never came): counter work, and no money
    # moves at the counter (a paid order is refunded once the warehouse has the goods back).
    "send_back": frozenset({PARTNER, ASSISTANT}),
    "pay_refund": frozenset({PARTNER}),  # paying a refund out of the drawer: the partner answers for the cash
    "pay_produce": frozenset({PARTNER}),  # paying a villager for a produce lot out of the drawer, likewise
    # The cash book: assistants take payments (every role), only the partner closes the day and hands cash over.
    "close_day": frozenset({PARTNER}),
    "remittance": frozenset({PARTNER}),
    "keep_commission": frozenset({PARTNER}),  # commission netting: the partner's pay, out of the drawer
    # The pickup code belongs to the villager: printing it again, or handing goods over without it, is the
    # partner's to answer for (both counted for the county's review).
    "reprint_slip": frozenset({PARTNER}),
    "hand_over_without_code": frozenset({PARTNER}),
    # What sells (orders.insights): counts of units and orders help whoever stands at the counter; the
    # commission column of the page is gated by "commissions" above.
    "insights": frozenset({PARTNER, ASSISTANT}),
    # Promotional SMS (marketing): the partner writes to the station's villagers, and answers for what is sent.
    "campaigns": frozenset({PARTNER}),
}


def station_may(role: str | None, action: str) -> bool:
    """May a station's staff member with ``role`` do ``action``?  An action not in the table is for every role."""
    if role not in STATION_ROLES:
        return False
    return role in STATION_ACTIONS.get(action, STATION_ROLES)


def staff_of_request(request) -> StationStaff | None:
    """The user's station membership (``selectors.staff_of_user``), looked up once per request."""
    if not hasattr(request, "_station_staff"):
        request._station_staff = selectors.staff_of_user(request.user)
    return request._station_staff


def counties_of_user(user) -> list:
    """The counties ``user`` manages: every county for a superuser, none for anyone else (one query)."""
    if not user.is_authenticated:
        return []
    if user.is_superuser:
        return list(County.objects.all())
    return list(County.objects.filter(managers__user=user))


def station_required(view=None, *, action: str | None = None):
    """Login required, then resolve the user's station into ``request.station`` and the role into ``request.station_role``.

    The one place that scopes a partner page: a user with no station sees a page that says so
    (403), never another station's data.  With ``action``, only the roles ``STATION_ACTIONS``
    allows get through; the others get a 403 page saying who may.  Use as ``@station_required``
    or ``@station_required(action="commissions")``.
    """
    if action is not None and action not in STATION_ACTIONS:
        raise ValueError(f"Unknown station action {action!r}: add it to STATION_ACTIONS")

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            staff = staff_of_request(request)
            request.station = staff.service_center if staff else None
            request.station_role = staff.role if staff else None
            if request.station is None:
                managed = request.user.managed_counties.select_related("county")
                return render(request, "partners/no_station.html", {"managed": managed}, status=403)
            if action is not None and not station_may(request.station_role, action):
                return render(request, "partners/not_allowed.html", {"action": action}, status=403)
            return view(request, *args, **kwargs)

        wrapper.station_action = action
        return wrapper

    return decorate(view) if view is not None else decorate


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def county_manager_required(view):
    """Login required, then ``request.counties``: the counties the user manages (all of them for a superuser).

    Anyone else gets a 404, so a station's staff cannot even tell the page exists.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        from django.http import Http404

        request.counties = counties_of_user(request.user)
        if not request.counties:
            raise Http404("Not a county manager")
        return view(request, *args, **kwargs)

    return wrapper
