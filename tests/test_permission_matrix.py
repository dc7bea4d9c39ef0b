"""The permission matrix: every URL pattern of the project, requested by every role, answers as its rule says.

One table (``RULES``) holds a rule for each pattern: the status each role gets for a GET and, for
the patterns that change state, for a POST.  The roles are the people of ``partners.access``:

    anonymous      no session, no key
    partner_a      the partner of station A (county A)
    assistant_a    an assistant of station A: no commission, no returns
    partner_b      the partner of station B, in county B: A's objects are a 404
    county_a       the manager of county A (staff, with no admin permissions, as in the demo)
    county_b       the manager of county B: A's county objects are a 404
    admin          a staff superuser: the admin and every county page; no station
    logistics_a    a logistics API key for warehouse A (no session)
    logistics_b    a logistics API key for warehouse B: A's batches and parcels are a 404
    installer_a    an installer of county A (a login, no station): their own appointments' page only
    installer_b    an installer of county B: A's appointments are a 404

A refused POST must change nothing (every row of the project's apps is compared before and
after); an allowed one runs too, and is rolled back so the next request sees the same world.
A 200 answered to an outsider (partner_b, county_b, logistics_b) must not name anything of A.

``test_every_url_pattern_has_a_rule`` fails when a pattern is added without a rule (or a rule
outlives its pattern); ``test_a_pattern_without_a_rule_is_caught`` shows that on a urlconf with
one more pattern.  The requests all run in one test, which lists every mismatch at once.
"""

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLResolver, get_resolver, path, reverse
from django.utils import timezone
from PIL import Image

from cashbook import services as cash
from installations import services as installations
from installations.models import Installer
from integrity.models import CallBack, Review
from logistics import services as dispatch
from logistics.clients import create_client
from logistics.models import BatchStop, DeliveryBatch, ParcelPhoto
from logistics.photos import ProcessedPhoto
from marketing.models import Campaign, Recipient
from orders import returns, services
from orders.models import CommissionStatement, Order
from partners.access import station_may
from partners.models import StationStaff, Villager
from produce import services as produce
from produce.models import ProduceKind
from tests.factories import (
    CountyManagerFactory,
    ProductFactory,
    RouteFactory,
    RouteStopFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    StockFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
    WarehouseFactory,
)
from tests.order_steps import arrive, depart

ROLES = (
    "anonymous",
    "partner_a",
    "assistant_a",
    "partner_b",
    "county_a",
    "county_b",
    "admin",
    "logistics_a",
    "logistics_b",
    "installer_a",
    "installer_b",
)
OUTSIDERS = ("partner_b", "county_b", "logistics_b", "installer_b")

LOGIN = "302 to /accounts/login/"
ADMIN_LOGIN = "302 to /admin/login/"
REDIRECT = "302"  # any redirect but to a login page
SAME = "the same for everyone"
NOT_POSTED = "not posted here"  # allowed, and tested elsewhere (tests/test_admin.py); saves seconds of admin rendering


# --- the rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    get: dict[str, object]
    post: dict[str, object] | None = None  # None: a GET-only pattern (or nothing to change)
    post_allowed: frozenset[str] = frozenset()  # roles whose POST may change rows (rolled back)
    kwargs: Callable[["World"], dict] = field(default=lambda w: {})
    query: str = ""
    data: Callable[["World"], dict] = field(default=lambda w: {})
    json: bool = False  # POST a JSON body (the APIs)
    watch: tuple = ()  # the models a refused POST must leave alone; () is every model of the project's apps
    logs_out: bool = False  # an allowed POST ends the session: log in again after it
    # Station actions (partners.access.STATION_ACTIONS) whose fields a JSON answer carries only for the
    # roles station_may() allows: an API answers an assistant without the partner's fields (ACTION_FIELDS).
    gated: tuple[str, ...] = ()


# The station role of each matrix role that has one, and the JSON keys each gated action's fields go by.
PARTNER, ASSISTANT = StationStaff.Role.PARTNER, StationStaff.Role.ASSISTANT
STATION_ROLE = {"partner_a": PARTNER, "assistant_a": ASSISTANT, "partner_b": PARTNER}
ACTION_FIELDS = {"commissions": "commission"}  # any key containing it: commission_total, commission_rate...


def everyone(status) -> dict[str, object]:
    return dict.fromkeys(ROLES, status)


NO_SESSION = {"anonymous": LOGIN, "logistics_a": LOGIN, "logistics_b": LOGIN}
# An installer has a login but no station and no county to manage: partner pages say so (403), county pages 404.
INSTALLERS_AT_STATION_PAGE = {"installer_a": 403, "installer_b": 403}
INSTALLERS_AT_COUNTY_PAGE = {"installer_a": 404, "installer_b": 404}


def station(ok=200, *, other=None, assistant=None) -> dict[str, object]:
    """A partner page: station staff only, scoped to their station; county managers and admins have none (403)."""
    return {
        **NO_SESSION,
        "partner_a": ok,
        "assistant_a": ok if assistant is None else assistant,
        "partner_b": ok if other is None else other,
        "county_a": 403,
        "county_b": 403,
        "admin": 403,
        **INSTALLERS_AT_STATION_PAGE,
    }


def county(ok=200, *, other=404) -> dict[str, object]:
    """A county page: managers of the county and admins; station staff do not see it exists (404)."""
    return {
        **NO_SESSION,
        "partner_a": 404,
        "assistant_a": 404,
        "partner_b": 404,
        "county_a": ok,
        "county_b": other,
        "admin": ok,
        **INSTALLERS_AT_COUNTY_PAGE,
    }


def station_and_county(ok=200) -> dict[str, object]:
    """A station's object the county sees too (a parcel's photo): the station's staff, its county's managers and
    admins; another station or another county gets a 404, as for an object that does not exist."""
    return {
        **NO_SESSION,
        "partner_a": ok,
        "assistant_a": ok,
        "partner_b": 404,
        "county_a": ok,
        "county_b": 404,
        "admin": ok,
        **INSTALLERS_AT_COUNTY_PAGE,
    }


def station_api(ok=200, *, other=None) -> dict[str, object]:
    """The station JSON API: station staff by session or token; county managers and admins 403, no credentials 401."""
    return {
        "anonymous": 401,
        "partner_a": ok,
        "assistant_a": ok,
        "partner_b": ok if other is None else other,
        "county_a": 403,
        "county_b": 403,
        "admin": 403,
        "logistics_a": 401,  # a logistics key is no station token
        "logistics_b": 401,
        **INSTALLERS_AT_STATION_PAGE,
    }


def logistics_api(ok=200, *, other=404) -> dict[str, object]:
    """The logistics API: a key of the batch's warehouse; a session is no key (401)."""
    return {**everyone(401), "logistics_a": ok, "logistics_b": other}


def admin_page(superuser=200, *, staff=403) -> dict[str, object]:
    """The Django admin: a staff superuser; a staff user with no permissions (county) 403; anyone else to its login."""
    return {**everyone(ADMIN_LOGIN), "county_a": staff, "county_b": staff, "admin": superuser}


def first_free_slot(order: Order) -> str:
    slot = installations.slots_for(order)[0]
    return f"{slot.day.isoformat()}|{slot.half_day}"


def order_number(attr: str) -> Callable[["World"], dict]:
    return lambda w: {"number": getattr(w, attr).number}


# A POST-only station action: GET is 405 for staff, POST refused for outsiders (404) and others.
def station_action(attr: str, *, ok=REDIRECT, assistant=None, data=lambda w: {}) -> Rule:
    assistant_get = 403 if assistant == 403 else 405
    return Rule(
        get=station(405, assistant=assistant_get),
        post=station(ok, other=404, assistant=ok if assistant is None else assistant),
        post_allowed=frozenset({"partner_a"} | ({"assistant_a"} if assistant is None else set())),
        kwargs=order_number(attr),
        data=data,
    )


# A POST-only step of the station API on an order of station A: GET is 405 for staff (403 for a role the step's
# station action refuses), POST 200 for A's roles that may, 404 for B's partner (not A's order).
def api_step(attr: str, *, assistant=None, data=lambda w: {}) -> Rule:
    return Rule(
        get={**station_api(405), **({"assistant_a": 403} if assistant == 403 else {})},
        post={**station_api(200, other=404), **({"assistant_a": assistant} if assistant is not None else {})},
        post_allowed=frozenset({"partner_a"} | ({"assistant_a"} if assistant is None else set())),
        kwargs=order_number(attr),
        data=data,
        json=True,
        gated=("commissions",),
    )


RULES: dict[str, Rule] = {
    # --- the site
    "login": Rule(get={**everyone(REDIRECT), **dict.fromkeys(("anonymous", "logistics_a", "logistics_b"), 200)}),
    "logout": Rule(get=everyone(200)),  # a page with the button; its POST logs out (not role-gated, not posted here)
    "logout-everywhere": Rule(
        get=everyone(405),
        post=everyone(LOGIN),  # each logs out their own sessions, then lands on the login page
        post_allowed=frozenset(ROLES) - {"anonymous", "logistics_a", "logistics_b"},
        logs_out=True,
    ),
    "set_language": Rule(get=everyone(SAME)),
    "healthz": Rule(get=everyone(SAME)),
    # Public; a logistics key in the header is no DRF token, so DRF refuses it (403) before the schema view.
    "api-schema": Rule(get={**everyone(200), "logistics_a": 403, "logistics_b": 403}),
    "api-docs": Rule(get={**everyone(200), "logistics_a": 403, "logistics_b": 403}),
    # --- partner pages: orders
    # a county manager (or an admin) with no station is sent on to the county workspace
    # and an installer on to their day's appointments
    "dashboard": Rule(
        get={
            **station(),
            **dict.fromkeys(("county_a", "county_b", "admin", "installer_a", "installer_b"), REDIRECT),
        }
    ),
    "order-list": Rule(get=station()),
    # what sells: each station's own figures (B sees B's; A's villagers and products never show); assistants too,
    # without the commission column; county managers have no station (403), the county's figures are elsewhere
    "station-insights": Rule(get=station()),
    "order-create": Rule(
        get=station(),
        # partner_b posts A's villager: a form error, nothing placed
        post=station(REDIRECT, other=200),
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        data=lambda w: {
            "villager": w.villager_a.pk,
            "sku": [w.product.sku],
            "quantity": ["1"],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
            "notes": "",
            "idempotency_key": "matrix-key",
        },
    ),
    # the offline counter's page (its data comes from the station API), and its service worker (a script file)
    "order-offline": Rule(get=station()),
    "order-offline-worker": Rule(get=everyone(200)),
    "order-villager-search": Rule(get=station(), query="?q=王"),
    "order-product-search": Rule(get=station(), query="?q=肥"),
    "order-cart-line": Rule(get=station(), query="?product={product}"),
    "order-detail": Rule(get=station(other=404), kwargs=order_number("placed")),
    "order-receipt": Rule(get=station(other=404), kwargs=order_number("placed")),
    "order-confirm": station_action("placed", data=lambda w: {"consent_code": w.placed.consent_code}),
    # the slip with the pickup code, printed the first time (a reprint is the partner's: STATION_ACTIONS)
    "order-slip": station_action("slip", ok=200),
    "order-resend-code": station_action("placed"),
    # an installation order's appointment: the free times, and booking one (counter work, every station role)
    "order-installation": Rule(
        get=station(other=404),
        post=station(REDIRECT, other=404),
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        kwargs=order_number("installation"),
        data=lambda w: {"slot": first_free_slot(w.installation)},
    ),
    # the installer's phone page: their own day (B's installer sees B's, empty) and their own appointments
    "installer-day": Rule(get={**everyone(404), **NO_SESSION, "installer_a": 200, "installer_b": 200}),
    "installer-visit": Rule(
        get={**everyone(404), **NO_SESSION, "installer_a": 200},
        # the goods are not at the station yet: refused with the reason, nothing changed
        post={**everyone(404), **NO_SESSION, "installer_a": 400},
        kwargs=lambda w: {"pk": w.appointment.pk},
        data=lambda w: {"step": "on_the_way"},
    ),
    "order-cancel": station_action("placed", data=lambda w: {"cancel-reason": "矩阵"}),
    "order-hand-over": station_action("at_station", data=lambda w: {"pickup_code": w.at_station.pickup_code}),
    # the confirmed step of a return by line (one unit back, for the figures the confirmation page showed)
    "order-return": station_action("collected", assistant=403, data=lambda w: w.return_data),
    # refused at the counter, confirmed: counter work, the assistant's too (STATION_ACTIONS "send_back")
    "order-send-back": station_action(
        "at_station", data=lambda w: {"back-kind": "refused", "back-reason": "不要了", "step": "confirm"}
    ),
    # --- partner pages: the way back (refunds owed, goods for the driver)
    "refund-list": Rule(get=station()),  # every staff member sees what is owed; B sees its own (none of A's)
    "refund-pay": Rule(
        get=station(other=404, assistant=403),  # the confirmation page
        post=station(REDIRECT, other=404, assistant=403),  # paying out of the drawer: the partner's only
        post_allowed=frozenset({"partner_a"}),
        kwargs=lambda w: {"pk": w.refund_a.pk},
        data=lambda w: {"amount": str(w.refund_a.amount)},
    ),
    "going-back": Rule(get=station()),
    # --- partner pages: commission (the partner's only)
    "commission-overview": Rule(get=station(assistant=403)),
    "statement-detail": Rule(get=station(other=404, assistant=403), kwargs=lambda w: {"pk": w.statement_a.pk}),
    "statement-csv": Rule(get=station(other=404, assistant=403), kwargs=lambda w: {"pk": w.statement_a.pk}),
    # --- produce: the station lists a villager's lot (counter work) and pays it once received (the partner)
    "produce-list": Rule(get=station()),
    "produce-new": Rule(
        get=station(),
        post=station(REDIRECT, other=400),  # B posts A's villager and kind: form errors, nothing listed
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        data=lambda w: {
            "villager": w.villager_a.pk,
            "kind": w.produce_kind.pk,
            "quantity": "30",
            "grade": "一级",
            "price_asked": "1.20",
            "ready_on": w.today.isoformat(),
        },
    ),
    "produce-detail": Rule(
        get=station(other=404),
        post=station(REDIRECT, other=404),  # the villager takes the listed lot back
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        kwargs=lambda w: {"number": w.lot_listed.number},
        data=lambda w: {"step": "withdraw"},
    ),
    # --- promotional SMS: the partner's only (STATION_ACTIONS "campaigns"); B writes to no one of A's (a 400)
    "campaign-list": Rule(get=station(assistant=403)),
    "campaign-new": Rule(
        get=station(assistant=403),
        post=station(REDIRECT, other=400, assistant=403),  # B's villager agreed to nothing: nobody to text
        post_allowed=frozenset({"partner_a"}),
        data=lambda w: {"body": "复合肥特价", "step": "send"},
    ),
    "campaign-detail": Rule(get=station(other=404, assistant=403), kwargs=lambda w: {"pk": w.campaign_a.pk}),
    "campaign-cancel": Rule(
        get=station(other=404, assistant=403),
        post=station(REDIRECT, other=404, assistant=403),  # A's waiting campaign, called off (rolled back)
        post_allowed=frozenset({"partner_a"}),
        kwargs=lambda w: {"pk": w.campaign_a.pk},
    ),
    # --- partner pages: villagers
    "villager-list": Rule(get=station()),
    "villager-create": Rule(
        get=station(),
        post=station(REDIRECT),
        post_allowed=frozenset({"partner_a", "assistant_a", "partner_b"}),  # each at their own station
        data=lambda w: {"name": "矩阵新人", "phone": "", "notes": ""},
    ),
    "villager-anonymise": Rule(
        get=station(405, assistant=403),
        post=station(REDIRECT, other=404, assistant=403),  # the partner's only: it cannot be undone
        post_allowed=frozenset({"partner_a"}),
        kwargs=lambda w: {"pk": w.villager_a.pk},
    ),
    "villager-detail": Rule(get=station(other=404), kwargs=lambda w: {"pk": w.villager_a.pk}),
    "villager-edit": Rule(
        get=station(other=404),
        post=station(REDIRECT, other=404),
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        kwargs=lambda w: {"pk": w.villager_a.pk},
        data=lambda w: {"name": "改名", "phone": "", "notes": ""},
    ),
    # --- partner pages: deliveries
    "deliveries": Rule(get=station()),
    "deliveries-overdue": Rule(get=station()),
    # the station's installation orders to book and appointments ahead, and the dashboard's tile of them
    "station-installations": Rule(get=station()),
    "installations-tile": Rule(get=station()),
    "delivery-receive": Rule(
        get=station(other=404),
        post=station(REDIRECT, other=404),
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        kwargs=lambda w: {"pk": w.stop_a.pk},
    ),
    # a parcel marked missing that turned up (the world's parcel is still loaded: refused with a message)
    "parcel-found": Rule(
        get=station(405),
        post=station(REDIRECT, other=404),
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        kwargs=lambda w: {"label": w.parcel_a.label},
    ),
    # a missing or damaged parcel's photo, never a public file
    "parcel-photo": Rule(get=station_and_county(), kwargs=lambda w: {"pk": w.photo.pk}),
    "parcel-photo-thumbnail": Rule(get=station_and_county(), kwargs=lambda w: {"pk": w.photo.pk}),
    # --- county pages
    "county-home": Rule(get=county(other=200)),  # county B sees its own workspace
    "county-charts": Rule(get=county(other=200)),  # county B sees its own stations' charts
    "county-commissions": Rule(get=county(other=200)),  # county B sees its own stations
    "statement-approve": Rule(
        get=county(),  # the confirmation page
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"pk": w.statement_a.pk},
        data=lambda w: {"total": "0.00"},  # the amount the confirmation page showed
    ),
    "statement-paid": Rule(
        get=county(),  # the confirmation page (saying a draft cannot be paid yet)
        post=county(REDIRECT),  # refused (a draft cannot be paid) with a message, still a redirect
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"pk": w.statement_a.pk},
        data=lambda w: {"total": "0.00"},
    ),
    "dispatch-board": Rule(get=county(other=200)),
    "dispatch-plan": Rule(
        get=county(405, other=405),
        post=county(REDIRECT, other=REDIRECT),
        post_allowed=frozenset({"county_a", "county_b", "admin"}),  # each plans their own county's warehouse
    ),
    "county-exceptions": Rule(get=county(other=200)),  # county B sees its own (empty) queue
    "exception-ship-again": Rule(
        get=county(405, other=405),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"number": w.exception.number},
    ),
    # a failed installation booked again (the world's exception is a lost parcel: refused with a message)
    "exception-book-again": Rule(
        get=county(405, other=405),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"number": w.exception.number},
    ),
    "exception-cancel": Rule(
        get=county(405, other=405),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"number": w.exception.number},
        data=lambda w: {"reason": "找不到了"},
    ),
    "county-pickups": Rule(get=county(other=200), query="?label="),  # county B sees its own (empty) lists
    "county-pickup": Rule(
        get=county(),
        post=county(200),  # its run has not left: a form error, nothing received
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"label": w.pickup_a.label},
        data=lambda w: {f"sellable-{w.pickup_a.goods_return.lines.get().pk}": "1", "note": "矩阵"},
    ),
    # --- the cash book: station pages (assistants take payments but neither close nor hand cash over)
    "cash-book": Rule(get=station()),
    "cash-tile": Rule(get=station()),
    "cash-close": Rule(
        get=station(200, assistant=403),
        post=station(200, assistant=403),  # the figures to confirm: nothing written yet
        data=lambda w: {"day": w.today.isoformat(), "counted": "0", "step": "preview"},
    ),
    "cash-close-slip": Rule(get=station(other=404), kwargs=lambda w: {"pk": w.close_a.pk}),
    "cash-remittance-new": Rule(
        get=station(200, assistant=403),
        post=station(200, assistant=403),  # the figures to confirm: nothing written yet
        data=lambda w: {"amount": "1.00", "slip_number": "M-2", "handed_to": "county", "step": "preview"},
    ),
    # commission netting: A's county does not net, and its statement is a draft: nothing to keep (404)
    "cash-keep-commission": Rule(
        get=station(404, assistant=403),
        post=station(404, assistant=403),
        kwargs=lambda w: {"pk": w.statement_a.pk},
        data=lambda w: {"total": "0.00"},
    ),
    # --- the cash book: the county's view
    # --- the villager's say: the gateway's signed replies (no signature here: refused), the county's review
    "sms-inbound": Rule(get=everyone(405), post=everyone(403), post_allowed=frozenset()),
    "county-review": Rule(get=county(other=200)),  # county B sees its own stations' signals
    "county-review-check": Rule(
        get=county(405, other=405),
        post=county(REDIRECT, other=REDIRECT),  # each county flags its own stations
        post_allowed=frozenset({"county_a", "county_b", "admin"}),
    ),
    "county-review-detail": Rule(
        get=county(),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"pk": w.review_a.pk},
        data=lambda w: {"decision": "clear", "reason": "矩阵"},
    ),
    "county-call-backs": Rule(get=county(other=200)),
    # promotional SMS waiting for the county: B sees its own (none); approving A's, B gets a 404
    "county-campaigns": Rule(get=county(other=200)),
    "county-campaign-decide": Rule(
        get=county(405, other=405),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"pk": w.campaign_a.pk},
        data=lambda w: {"step": "approve"},
    ),
    # produce: the county's open lots (B sees its own), buying one, the traceability label of a received one
    "county-produce": Rule(get=county(other=200)),
    "county-produce-figures": Rule(get=county(other=200)),  # the month's figures: B sees its own villages and runs
    "county-produce-lot": Rule(
        get=county(405, other=405),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"number": w.lot_listed.number},
        data=lambda w: {"step": "accept", "price": "1.10"},
    ),
    "produce-label": Rule(get=county(), kwargs=lambda w: {"number": w.lot_received.number}),
    # a listed lot's photo, never a public file: the station that listed it and its county's managers
    "produce-photo": Rule(get=station_and_county(), kwargs=lambda w: {"number": w.lot_listed.number}),
    "produce-photo-thumbnail": Rule(get=station_and_county(), kwargs=lambda w: {"number": w.lot_listed.number}),
    "county-promises": Rule(get=county(other=200)),  # county B sees its own orders' promises
    "county-call-back-record": Rule(
        get=county(405, other=405),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"pk": w.call_back_a.pk},
        data=lambda w: {"result": "confirmed", "note": "矩阵"},
    ),
    "county-cash": Rule(get=county(other=200)),  # county B sees its own stations
    "county-cash-csv": Rule(get=county(other=200)),
    "county-cash-float": Rule(
        get=county(405, other=405),
        post=county(REDIRECT, other=REDIRECT),  # county B: A's station is no choice of its form, a message
        post_allowed=frozenset({"county_a", "admin"}),
        data=lambda w: {"station": w.station_code_a, "amount": "5.00", "note": "矩阵"},
    ),
    "county-cash-limit": Rule(
        get=county(405, other=405),
        post=county(REDIRECT, other=REDIRECT),  # county B: A's station is no choice of its form, a message
        post_allowed=frozenset({"county_a", "admin"}),
        data=lambda w: {"limit-station": w.station_code_a, "limit-limit": "3000.00"},
    ),
    "remittance-confirm": Rule(
        get=county(),
        post=county(REDIRECT),
        post_allowed=frozenset({"county_a", "admin"}),
        kwargs=lambda w: {"pk": w.remittance_a.pk},
        data=lambda w: {"received": "1.00"},
    ),
    "batch-manifest": Rule(get=county(), kwargs=lambda w: {"code": w.batch_a.code}),
    "batch-manifest-csv": Rule(get=county(), kwargs=lambda w: {"code": w.batch_a.code}),
    # --- the station API
    "api-orders": Rule(
        get=station_api(),
        post=station_api(201, other=400),  # the body names A's villager: B gets a field error
        post_allowed=frozenset({"partner_a", "assistant_a"}),
        data=lambda w: {
            "villager": w.villager_a.pk,
            "lines": [{"sku": w.product.sku, "quantity": 1}],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
        },
        json=True,
        gated=("commissions",),
    ),
    "api-order-detail": Rule(get=station_api(other=404), kwargs=order_number("placed"), gated=("commissions",)),
    # the counter's steps on an order (POST only: a GET is 405 once the caller is known); B's staff: a 404
    "api-order-confirm": api_step("placed", data=lambda w: {"consent_code": w.placed.consent_code}),
    "api-order-hand-over": api_step("at_station", data=lambda w: {"pickup_code": w.at_station.pickup_code}),
    "api-order-cancel": api_step("placed", data=lambda w: {"reason": "矩阵"}),
    # a return gives money back: the partner's only (STATION_ACTIONS "return_order"), an assistant's 403
    "api-order-return": api_step(
        "collected", assistant=403, data=lambda w: {"lines": [{"sku": w.product.sku, "quantity": 1}]}
    ),
    # the offline counter's copies: each station's own (B gets B's villagers and B's warehouse's stock)
    "api-catalog": Rule(get=station_api()),
    "api-villagers": Rule(get=station_api()),
    # --- the logistics API
    "api-batch-list": Rule(get=logistics_api(other=200)),  # B's key lists B's batches
    "api-batch-detail": Rule(get=logistics_api(), kwargs=lambda w: {"code": w.batch_a.code}),
    "api-batch-depart": Rule(
        get=logistics_api(405, other=405),  # the method is refused before the batch is looked up
        post=logistics_api(200),
        post_allowed=frozenset({"logistics_a"}),
        kwargs=lambda w: {"code": w.batch_a.code},
        json=True,
    ),
    "api-stop-arrive": Rule(
        get=logistics_api(405, other=405),  # the method is refused before the batch is looked up
        post=logistics_api(409),  # not departed yet
        kwargs=lambda w: {"code": w.batch_a.code, "sequence": w.stop_a.sequence},
        json=True,
    ),
    "api-stop-pickups-collected": Rule(
        get=logistics_api(405, other=405),  # the method is refused before the batch is looked up
        post=logistics_api(409),  # the run has not left
        kwargs=lambda w: {"code": w.batch_a.code, "sequence": w.stop_a.sequence},
        data=lambda w: {"labels": [w.pickup_a.label]},
        json=True,
    ),
    "api-batch-complete": Rule(
        get=logistics_api(405, other=405),  # the method is refused before the batch is looked up
        post=logistics_api(409),
        kwargs=lambda w: {"code": w.batch_a.code},
        json=True,
    ),
    "api-parcel": Rule(get=logistics_api(), kwargs=lambda w: {"label": w.parcel_a.label}),
    "api-parcel-exception": Rule(
        get=logistics_api(405, other=405),  # the method is refused before the batch is looked up
        post=logistics_api(409),  # the run has not left: the parcel is not on a truck yet
        kwargs=lambda w: {"label": w.parcel_a.label},
        data=lambda w: {"kind": "damaged", "note": "矩阵"},
        json=True,
    ),
    # The installation steps of a company's technicians (logistics_a's client has one, with an appointment
    # whose goods are at the station): another client's key, or anyone's appointment but its own, is a 404.
    "api-installation-list": Rule(get=logistics_api(other=200)),  # B's key lists B's technicians' (none)
    "api-installation-on-the-way": Rule(
        get=logistics_api(405, other=405),  # the method is refused before the appointment is looked up
        post=logistics_api(200),
        post_allowed=frozenset({"logistics_a"}),
        kwargs=lambda w: {"pk": w.technician_visit.pk},
        json=True,
    ),
    "api-installation-installed": Rule(
        get=logistics_api(405, other=405),
        post=logistics_api(200),
        post_allowed=frozenset({"logistics_a"}),
        kwargs=lambda w: {"pk": w.technician_visit.pk},
        data=lambda w: {"pickup_code": w.technician_visit.order.pickup_code},
        json=True,
    ),
    "api-installation-failed": Rule(
        get=logistics_api(405, other=405),
        post=logistics_api(200),
        post_allowed=frozenset({"logistics_a"}),
        kwargs=lambda w: {"pk": w.technician_visit.pk},
        data=lambda w: {"reason": "nobody_home", "note": "矩阵", "then": "rebook"},
        json=True,
    ),
    # What the converters refuse under batches/ and parcels/: a JSON 404 once the key is checked.
    "api-not-found": Rule(
        get=logistics_api(404, other=404),
        post=logistics_api(404, other=404),
        kwargs=lambda w: {"kind": "batches", "rest": f"{w.batch_a.code}/stops/first/arrive/"},
        json=True,
    ),
    # --- the admin (its model pages are added below, from the admin's registry)
    "admin:index": Rule(get=admin_page(staff=200)),
    "admin:login": Rule(get={**everyone(200), "county_a": REDIRECT, "county_b": REDIRECT, "admin": REDIRECT}),
    "admin:logout": Rule(get={**everyone(REDIRECT), "county_a": 405, "county_b": 405, "admin": 405}),
    "admin:password_change": Rule(get=admin_page(staff=200)),
    "admin:password_change_done": Rule(get=admin_page(staff=200)),
    "admin:autocomplete": Rule(get=admin_page(403)),  # no model named: refused even for the superuser
    "admin:jsi18n": Rule(get=admin_page(staff=200)),
    "admin:view_on_site": Rule(
        get=admin_page(404, staff=404), kwargs=lambda w: {"content_type_id": w.order_type.pk, "object_id": "1"}
    ),
    "admin:app_list": Rule(get=admin_page(staff=404), kwargs=lambda w: {"app_label": "orders"}),
    "admin:auth_user_password_change": Rule(
        get=admin_page(),
        kwargs=lambda w: {"id": w.users["partner_a"].pk},
        post=admin_page(200),
        post_allowed=frozenset({"admin"}),  # an empty form: errors, nothing set
    ),
    # django-import-export on the catalog and the stock: the model's view (export) and change (import) permission
    **{
        f"admin:catalog_{model}_{view}": Rule(get=admin_page(), post=admin_page(200), post_allowed=frozenset({"admin"}))
        for model in ("product", "stock")
        for view in ("export", "import")
    },
    **{
        f"admin:catalog_{model}_process_import": Rule(
            get=admin_page(405, staff=405), post=admin_page(200), post_allowed=frozenset({"admin"})
        )
        for model in ("product", "stock")
    },
    "admin/(?P<url>.*)$": Rule(get=admin_page(404, staff=404), kwargs=lambda w: {"url": "nowhere/"}),
}


def _admin_model_rules() -> dict[str, Rule]:
    """Each registered model's admin pages: the superuser's only (``admin_view`` guards them all alike).

    Generated from the registry, so a model registered later has its rules; a custom admin view
    (``get_urls``) is a new pattern name and needs its own rule above.
    """
    rules = {}
    for model, model_admin in admin.site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        obj = lambda w, model=model: {"object_id": w.pk_of(model)}  # noqa: E731
        add = 200 if model_admin.has_add_permission(_SuperuserRequest()) else 403
        watch = (model,)
        rules[f"admin:{info}_changelist"] = Rule(get=admin_page())
        rules[f"admin:{info}_add"] = Rule(
            get=admin_page(add), post=admin_page(NOT_POSTED), post_allowed=frozenset({"admin"}), watch=watch
        )
        for view in ("change", "history"):
            rules[f"admin:{info}_{view}"] = Rule(get=admin_page(OBJECT_PAGE, staff=STAFF_OBJECT_PAGE), kwargs=obj)
        rules[f"admin:{info}_delete"] = Rule(
            get=admin_page(OBJECT_PAGE, staff=STAFF_OBJECT_PAGE),
            post=admin_page(NOT_POSTED, staff=STAFF_OBJECT_PAGE),
            post_allowed=frozenset({"admin"}),
            kwargs=obj,
            watch=watch,
        )
        # the bare object URL redirects to its change page
        rules[f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"] = Rule(
            get=admin_page(REDIRECT, staff=REDIRECT), kwargs=obj
        )
    return rules


OBJECT_PAGE = "200, or 302 when the model has no row (or 403 when the admin allows no such page)"
# A staff user with no permission: 403, or (for some views, before checking it) 302 to /admin/ when there is no such row.
STAFF_OBJECT_PAGE = "403, or 302 to /admin/ when the model has no row"


class _SuperuserRequest:
    class user:  # noqa: N801 - stands for request.user
        is_active = is_staff = is_superuser = True

        @staticmethod
        def has_perm(perm, obj=None):
            return True


# --- the patterns -----------------------------------------------------------------------------


def pattern_keys(resolver=None) -> dict[str, str]:
    """Every URL pattern, walked recursively: its namespaced name (or, unnamed, its full route) → its route."""
    keys: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, route, ns)
            else:
                key = f"{namespace}{pattern.name}" if pattern.name else route
                # A second pattern under a name already seen goes by its route: it needs a rule of its own.
                keys[route if key in keys else key] = route

    walk((resolver or get_resolver()).url_patterns, "", "")
    return keys


def all_rules() -> dict[str, Rule]:
    return {**RULES, **_admin_model_rules()}


def test_every_url_pattern_has_a_rule():
    keys, rules = set(pattern_keys()), set(all_rules())

    assert not keys - rules, f"URL patterns with no rule in RULES: {sorted(keys - rules)}"
    assert not rules - keys, f"rules for patterns that no longer exist: {sorted(rules - keys)}"


def _dummy(request):
    return HttpResponse("hi")


# A test-local urlconf: the project's patterns plus one nobody wrote a rule for.
urlpatterns = [*get_resolver().url_patterns, path("matrix-dummy/", _dummy, name="matrix-dummy")]


def test_a_pattern_without_a_rule_is_caught():
    missing = set(pattern_keys(get_resolver(__name__))) - set(all_rules())

    assert missing == {"matrix-dummy"}


def test_every_rule_names_every_role():
    for key, rule in all_rules().items():
        for verb in ("get", "post"):
            table = getattr(rule, verb)
            if table is not None:
                assert set(table) == set(ROLES), f"{key} {verb}: roles {sorted(set(ROLES) ^ set(table))}"


# --- the world: what station A and county A own, and the people ------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The smallest JPEG Pillow writes (8x8 red), as the world's parcel photo.
_tiny = io.BytesIO()
Image.new("RGB", (8, 8), "red").save(_tiny, "JPEG")
TINY_JPEG = _tiny.getvalue()


class World:
    def pk_of(self, model) -> str:
        obj = model._default_manager.order_by("pk").first()
        return str(obj.pk) if obj else "999999999"


def build_world() -> World:
    w = World()
    station_a = ServiceCenterFactory(code="A-001", name="里叶村服务站")
    station_b = ServiceCenterFactory(code="B-001", name="下姜村服务站")
    county_a, county_b = station_a.village.county, station_b.village.county
    warehouse_a = WarehouseFactory(county=county_a, code="WH-A")
    warehouse_b = WarehouseFactory(county=county_b, code="WH-B")
    w.users = {
        "partner_a": StationStaffFactory(user=UserFactory(username="alice"), service_center=station_a).user,
        "assistant_a": StationStaffFactory(
            user=UserFactory(username="ann"), service_center=station_a, role=StationStaff.Role.ASSISTANT
        ).user,
        "partner_b": StationStaffFactory(user=UserFactory(username="bob"), service_center=station_b).user,
        "county_a": CountyManagerFactory(user=UserFactory(username="carol", is_staff=True), county=county_a).user,
        "county_b": CountyManagerFactory(user=UserFactory(username="dave", is_staff=True), county=county_b).user,
        "admin": UserFactory(username="root", is_staff=True, is_superuser=True),
    }
    client_a, key_a = create_client(name="A 物流", warehouse_codes=[warehouse_a.code])
    w.keys = {
        "logistics_a": key_a,
        "logistics_b": create_client(name="B 物流", warehouse_codes=[warehouse_b.code])[1],
    }
    # Villager A agreed to promotional SMS (a campaign of A finds someone to text); B's villager did not.
    w.villager_a = VillagerFactory(
        service_center=station_a, name="王秘密", phone="+8613812345678", marketing_consent=True
    )
    VillagerFactory(service_center=station_b, name="李秀英", phone="+8613987654321")
    w.product = ProductFactory(sku="FERT-50", name="复合肥 50kg", price=Decimal("168.00"))
    StockFactory(product=w.product, warehouse=warehouse_a, on_hand=1000)
    StockFactory(product=w.product, warehouse=warehouse_b, on_hand=1000)
    route = RouteFactory(warehouse=warehouse_a, code="A-R1", cutoff_time=time(16, 0))
    RouteStopFactory(route=route, service_center=station_a, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse_a))
    partner = w.users["partner_a"]

    keys = iter(range(1000))

    def place(station=station_a, villager=None) -> Order:
        return services.place_order(
            station=station,
            villager=villager or w.villager_a,
            placed_by=partner,
            lines=[services.LineRequest(w.product.sku, 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key=f"m-{next(keys)}",
            notify=False,
        ).order

    # Goods a villager brought back, waiting at station A: the run below takes them back (a pickup).
    w.returned = returned = place()
    services.confirm_payment(order=returned, consent_code=returned.consent_code, actor=partner)
    services.transition(returned, to=Order.Status.BATCHED, actor=partner)
    depart(order=returned, actor=partner)
    arrive(order=returned, actor=partner, notify=False)
    services.hand_over(order=returned, actor=partner, pickup_code=returned.pickup_code)
    returns.return_order(order=returned, actor=partner, reason="矩阵退货")

    day = date(2026, 11, 24)
    with time_machine.travel(datetime.combine(day, time(9), tzinfo=SHANGHAI), tick=False):
        services.confirm_payment(order=(placed := place()), consent_code=placed.consent_code, actor=partner)
    with time_machine.travel(datetime.combine(day, time(16, 1), tzinfo=SHANGHAI), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=day)
    w.batch_a = DeliveryBatch.objects.get(warehouse=warehouse_a)
    w.stop_a = BatchStop.objects.get(batch=w.batch_a)
    w.parcel_a = w.stop_a.parcels.get()
    w.photo = ParcelPhoto(parcel=w.parcel_a, taken_by=partner, width=8, height=8, size_bytes=len(TINY_JPEG))
    w.photo.image.save("photo.jpg", ContentFile(TINY_JPEG), save=False)
    w.photo.thumbnail.save("thumb.jpg", ContentFile(TINY_JPEG), save=False)
    w.photo.save()
    w.pickup_a = w.stop_a.pickups.get()

    w.placed = place()
    # An installation order of station A, with an installer of county A free every day.
    w.users["installer_a"] = UserFactory(username="ivan")
    w.users["installer_b"] = UserFactory(username="igor")
    installer_a = Installer.objects.create(
        county=county_a, name="矩阵师傅", capacity=2, work_weekdays="1234567", user=w.users["installer_a"]
    )
    Installer.objects.create(county=county_b, name="乙县师傅", work_weekdays="1234567", user=w.users["installer_b"])
    StockFactory(
        product=ProductFactory(sku="AC-M", name="空调 1 匹", needs_installation=True), warehouse=warehouse_a, on_hand=3
    )
    w.installation = services.place_order(
        station=station_a,
        villager=VillagerFactory(service_center=station_a, name="赵安装", address="三组 1 号"),
        placed_by=partner,
        lines=[services.LineRequest("AC-M", 1)],
        delivery_method="home_installation",
        payment_method="cash_at_station",
        idempotency_key="m-installation",
        notify=False,
    ).order
    slot = installations.slots_for(w.installation)[0]
    w.appointment = installations.book(order=w.installation, day=slot.day, half_day=slot.half_day, actor=partner)
    assert w.appointment.installer == installer_a
    # A technician of logistics_a's company in county A, and his appointment, the goods at the station.
    technician = Installer.objects.create(county=county_a, name="物流师傅", work_weekdays="1234567", client=client_a)
    w.technician_order = services.place_order(
        station=station_a,
        villager=VillagerFactory(service_center=station_a, name="钱安装", address="四组 2 号"),
        placed_by=partner,
        lines=[services.LineRequest("AC-M", 1)],
        delivery_method="home_installation",
        payment_method="cash_at_station",
        idempotency_key="m-technician",
        notify=False,
    ).order
    services.confirm_payment(order=w.technician_order, consent_code=w.technician_order.consent_code, actor=partner)
    slot = installations.slots_for(w.technician_order)[0]
    w.technician_visit = installations.book(
        order=w.technician_order, day=slot.day, half_day=slot.half_day, actor=partner
    )
    assert w.technician_visit.installer == technician
    services.transition(w.technician_order, to=Order.Status.BATCHED, actor=partner)
    depart(order=w.technician_order, actor=partner)
    arrive(order=w.technician_order, actor=partner, notify=False)
    # A villager without SMS: the slip carries the pickup code; the county reviews an order, calls one back.
    w.slip = place(villager=VillagerFactory(service_center=station_a, name="张无机", phone="", sms_consent=False))
    w.review_a = Review.objects.create(
        order=w.placed, service_center=station_a, month=date(2026, 11, 1), signals=["outside_hours"]
    )
    w.call_back_a = CallBack.objects.create(order=w.slip)
    w.at_station = place()
    services.confirm_payment(order=w.at_station, consent_code=w.at_station.consent_code, actor=partner)
    services.transition(w.at_station, to=Order.Status.BATCHED, actor=partner)
    depart(order=w.at_station, actor=partner)
    arrive(order=w.at_station, actor=partner, notify=False)
    w.collected = place()
    services.confirm_payment(order=w.collected, consent_code=w.collected.consent_code, actor=partner)
    services.transition(w.collected, to=Order.Status.BATCHED, actor=partner)
    depart(order=w.collected, actor=partner)
    arrive(order=w.collected, actor=partner, notify=False)
    services.hand_over(order=w.collected, actor=partner, pickup_code=w.collected.pickup_code)
    line = w.collected.lines.get()
    w.return_data = {
        f"return-qty_{line.pk}": "1",
        f"return-reason_{line.pk}": "not_wanted",
        "step": "confirm",
        "refund": str(line.line_total),
        "commission": str(line.commission_amount),
    }
    w.refunded = place()  # paid, then cancelled: a refund owed at the counter
    services.confirm_payment(order=w.refunded, consent_code=w.refunded.consent_code, actor=partner)
    services.cancel_order(order=w.refunded, actor=partner, reason="不要了")
    w.refund_a = w.refunded.refunds.get()
    w.exception = place()
    services.confirm_payment(order=w.exception, consent_code=w.exception.consent_code, actor=partner)
    services.transition(w.exception, to=Order.Status.BATCHED, actor=partner)
    depart(order=w.exception, actor=partner)
    services.report_missing_or_damaged([w.exception.pk], actor=partner)

    # The cash book: the sales above, cash handed to the county (not confirmed yet), a day closed late.
    w.today = timezone.localdate()
    w.station_code_a = station_a.code
    w.remittance_a = cash.record_remittance(
        station=station_a, actor=partner, amount="1.00", slip_number="M-1", handed_to="county"
    )
    w.close_a = cash.close_day(
        station=station_a, actor=partner, day=w.today - timedelta(days=3), counted="0", note="矩阵"
    )

    # Produce of station A: a lot listed (with its photo), and one bought and received (its value owed to the villager).
    w.produce_kind = ProduceKind.objects.create(county=county_a, name="鸡蛋", unit="piece", grades="一级,二级")
    lot = produce.list_lot(
        station=station_a,
        villager=w.villager_a,
        kind=w.produce_kind,
        quantity="30",
        grade="一级",
        price_asked="1.20",
        ready_on=w.today,
        photo=ProcessedPhoto(image=TINY_JPEG, thumbnail=TINY_JPEG, width=8, height=8),
        actor=partner,
    )
    w.lot_listed = lot
    received = produce.list_lot(
        station=station_a,
        villager=w.villager_a,
        kind=w.produce_kind,
        quantity="10",
        grade="一级",
        price_asked="1.20",
        ready_on=w.today,
        actor=partner,
    )
    produce.accept_lot(lot=received, price="1.10", actor=w.users["county_a"])
    w.lot_received = produce.receive_lot(lot=received, quantity="10", grade="二级", actor=w.users["county_a"])

    # A campaign of station A waiting for county A (written as a row: the real size is above 200 villagers).
    w.campaign_a = Campaign.objects.create(
        service_center=station_a,
        body="冬季农资特价",
        text=f"【村淘】{station_a.name}：冬季农资特价",
        send_at=timezone.now(),
        status=Campaign.Status.WAITING,
        created_by=partner,
    )
    Recipient.objects.create(campaign=w.campaign_a, villager=w.villager_a)

    w.statement_a = CommissionStatement.objects.create(service_center=station_a, month=date(2026, 10, 1))
    CommissionStatement.objects.create(service_center=station_b, month=date(2026, 10, 1))
    w.order_type = ContentType.objects.get_for_model(Order)
    # What an outsider must never read: A's villager, orders, batch, parcel and station.
    w.secrets = [
        w.villager_a.name,
        "13812345678",
        w.placed.number,
        w.slip.number,
        w.at_station.number,
        w.collected.number,
        w.exception.number,
        w.refunded.number,
        w.batch_a.code,
        w.parcel_a.label,
        w.technician_order.number,
        w.lot_listed.number,
        w.lot_received.number,
        w.returned.number,  # the order of A's pickup (its label, B<n>, is too short to look for)
        station_a.name,
    ]
    return w


# --- requesting ---------------------------------------------------------------------------------

PROJECT_APPS = (
    "partners",
    "notifications",
    "orders",
    "cashbook",
    "integrity",
    "logistics",
    "installations",
    "produce",
    "marketing",
)  # and the users; not the sessions, saved on every request


def fingerprint(models=()) -> list:
    """Every row of ``models`` (or of the project's apps): a refused POST leaves all of it as it was."""
    models = models or [
        get_user_model(),
        *(m for label in PROJECT_APPS for m in apps.get_app_config(label).get_models()),
    ]
    if connection.vendor == "postgresql" and not os.environ.get("SLOWFP"):
        # One round trip: each table's rows, as text in pk order, hashed where they are.
        qn = connection.ops.quote_name
        each = "(SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t.{pk}), '')) FROM {table} t)"
        tables = ", ".join(each.format(pk=qn(m._meta.pk.column), table=qn(m._meta.db_table)) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {tables}")  # noqa: S608 - table names from the models
            return list(zip((m._meta.label for m in models), cursor.fetchone(), strict=True))
    return [(m._meta.label, list(m._default_manager.order_by("pk").values_list())) for m in models]


def matches(expected, response, same_as) -> bool:
    status = response.status_code
    location = response.get("Location", "")
    if expected == SAME:
        return status == same_as
    if expected == LOGIN:
        return status == 302 and location.startswith("/accounts/login/")
    if expected == ADMIN_LOGIN:
        return status == 302 and location.startswith("/admin/login/")
    if expected == REDIRECT:
        return status == 302 and "/login/" not in location
    if expected == OBJECT_PAGE:
        return status in (200, 302, 403)
    if expected == STAFF_OBJECT_PAGE:
        return status == 403 or (status == 302 and location == "/admin/")
    return status == expected


def describe(response) -> str:
    location = response.get("Location")
    return f"{response.status_code}" + (f" to {location}" if location else "")


@pytest.fixture
def quiet_refusals():
    """Thousands of 403s and 404s are the point here: do not log (and format) each one."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.mark.django_db
def test_every_role_gets_what_its_rule_says(settings, quiet_refusals, tmp_path):
    settings.AXES_ENABLED = False  # force_login only; nothing here is a failed login
    settings.MEDIA_ROOT = tmp_path  # the world's parcel photo and lot photo
    cache.clear()  # the logistics API's throttle counts per client
    world = build_world()
    clients = {"anonymous": Client()}
    for role, user in world.users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    for role, key in world.keys.items():
        clients[role] = Client(HTTP_AUTHORIZATION=f"Token {key}")

    patterns = pattern_keys()
    mismatches, requests = [], 0
    for key, rule in sorted(all_rules().items()):
        url = _url(key, patterns[key], rule, world)
        for verb in ("get", "post"):
            table = getattr(rule, verb)
            if table is None:
                continue
            same_as = None
            for role in ROLES:
                expected = table[role]
                if expected == NOT_POSTED:
                    continue
                client = clients[role]
                requests += 1
                if verb == "get":
                    response = client.get(url)
                    changed = False
                else:
                    response, changed = _post(client, url, rule, world, check=role not in rule.post_allowed)
                    if role not in rule.post_allowed and changed:
                        mismatches.append(
                            f"{verb.upper()} {url} as {role}: refused ({describe(response)}) but changed rows"
                        )
                same_as = response.status_code if same_as is None else same_as
                if not matches(expected, response, same_as):
                    mismatches.append(f"{verb.upper()} {url} as {role}: expected {expected}, got {describe(response)}")
                mismatches += gated_field_mismatches(rule, role, response, f"{verb.upper()} {url} as {role}")
                if role in OUTSIDERS and response.status_code == 200 and not response.streaming:
                    body = response.content.decode(errors="replace")
                    leaked = [s for s in world.secrets if s in body]
                    if leaked:
                        mismatches.append(f"{verb.upper()} {url} as {role}: shows A's {leaked}")
                if verb == "post" and rule.logs_out and role in world.users:
                    clients[role].force_login(world.users[role])

    print(f"permission matrix: {len(patterns)} patterns x {len(ROLES)} roles, {requests} requests")
    print("\n".join(mismatches))
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


def gated_field_mismatches(rule: Rule, role: str, response, request: str) -> list[str]:
    """A JSON answer's fields of a gated action: in every order for a role that may, in none for one that may not."""
    if not rule.gated or response.status_code not in (200, 201) or "json" not in response.get("Content-Type", ""):
        return []
    data = response.json()
    mismatches = []
    for action in rule.gated:
        may = station_may(STATION_ROLE.get(role), action)
        marker = ACTION_FIELDS[action]
        if may:
            missing = [o.get("number") for o in _orders_in(data) if not any(marker in k for k in o)]
            if missing:
                mismatches.append(f"{request}: may see {action} but {missing} carry no {marker} field")
        elif shown := sorted(_keys_in(data, marker)):
            mismatches.append(f"{request}: may not see {action}, yet the answer carries {shown}")
    return mismatches


def _orders_in(data) -> list[dict]:
    """The orders of an API answer: one, or the results of a page."""
    if isinstance(data, dict) and "results" in data:
        return [o for o in data["results"] if isinstance(o, dict)]
    return [data] if isinstance(data, dict) and "number" in data else []


def _keys_in(data, marker: str) -> set[str]:
    """Every key containing ``marker``, at any depth."""
    if isinstance(data, dict):
        return {k for k in data if marker in k} | {k for v in data.values() for k in _keys_in(v, marker)}
    if isinstance(data, list):
        return {k for item in data for k in _keys_in(item, marker)}
    return set()


def test_a_gated_field_shown_to_a_role_that_may_not_see_it_is_caught():
    class Answer:
        status_code = 200

        def __init__(self, data):
            self.data = data

        def get(self, header, default=""):
            return "application/json" if header == "Content-Type" else default

        def json(self):
            return self.data

    rule = RULES["api-orders"]
    order = {"number": "N1", "total": "1.00", "lines": []}
    leaked = {"results": [{**order, "lines": [{"sku": "X", "commission_amount": "0.10"}]}]}

    assert gated_field_mismatches(rule, "assistant_a", Answer(leaked), "GET") != []
    assert gated_field_mismatches(rule, "assistant_a", Answer({"results": [order]}), "GET") == []
    assert gated_field_mismatches(rule, "partner_a", Answer({"results": [order]}), "GET") != []  # partner: missing
    assert gated_field_mismatches(rule, "partner_a", Answer({**order, "commission_total": "0.10"}), "GET") == []


def _url(key: str, route: str, rule: Rule, world: World) -> str:
    kwargs = rule.kwargs(world)
    if "/" not in key:  # a named pattern
        url = reverse(key, kwargs=kwargs)
    elif key == "admin/(?P<url>.*)$":  # the admin's catch-all
        url = "/admin/" + kwargs["url"]
    else:  # an unnamed admin object URL
        url = "/" + route.replace("<path:object_id>", kwargs["object_id"])
    return url + rule.query.format(product=world.product.pk)


def _post(client: Client, url: str, rule: Rule, world: World, *, check: bool):
    """POST in a transaction rolled back afterwards: the next request sees the same world."""
    with transaction.atomic():
        before = fingerprint(rule.watch) if check else None
        if rule.json:
            response = client.post(
                url, rule.data(world), content_type="application/json", HTTP_IDEMPOTENCY_KEY="matrix-key"
            )
        else:
            response = client.post(url, rule.data(world))
        changed = check and fingerprint(rule.watch) != before
        transaction.set_rollback(True)
    cache.clear()
    return response, changed


@pytest.mark.django_db
def test_the_fingerprint_sees_a_changed_an_added_and_a_deleted_row():
    villager = VillagerFactory(name="王建国", phone="+8613812345678")
    before = fingerprint()
    Villager.objects.filter(pk=villager.pk).update(notes="改了")
    changed = fingerprint()
    VillagerFactory(service_center=villager.service_center, name="李四", phone="")
    added = fingerprint()
    Villager.objects.filter(name="李四").delete()
    assert len({str(before), str(changed), str(added)}) == 3
    assert fingerprint() == changed  # the added row gone again: as it was
