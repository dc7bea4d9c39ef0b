"""Bad input never makes a 500 or half-stored data (issue 8, "Bad input").

For every POST endpoint and every GET endpoint with query parameters of the
partner and county pages, hypothesis sends hostile values per field (NUL
bytes, 10,000-character strings, -1, 10**30, 1e309, NaN, full-width and
superscript digits, lists where scalars are expected, invalid UTF-8 and lone
surrogates in the raw body and query string, SQL and HTML fragments), mixed
with valid values so that some examples reach the services.  After each
example: the status is a 2xx/3xx/4xx (never a 500) and the data is whole: at
most one new order or villager, every order has its lines and its events,
reserved stock matches the orders that hold it, no NUL byte was stored.

Each example runs in a savepoint that is rolled back, so every one starts
from the same world.  PostgreSQL refuses NUL bytes in text while SQLite takes
them: run it on both.
"""

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import quote_from_bytes

import pytest
import time_machine
from django.db import transaction
from django.db.models import Count, F, Sum
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashbook import services as cash
from cashbook.models import CashEntry, DayClose, Remittance
from catalog.models import Stock, StockMovement
from integrity.models import CallBack, Review
from logistics import services as dispatch
from logistics.models import BatchStop, DeliveryBatch, Parcel, Pickup
from notifications.models import Notification
from orders import returns, services
from orders.models import CommissionEntry, CommissionStatement, GoodsReturn, Order, OrderEvent, OrderLine, Refund
from partners.models import Villager
from tests.factories import (
    CategoryFactory,
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
from tests.logistics.conftest import DAY, local
from tests.order_steps import arrive, depart

S = Order.Status
PASSWORD = "pw-for-tests"  # noqa: S105 - the factories' test password
OK_STATUSES = {200, 204, 301, 302, 303, 400, 403, 404, 405, 409}
RESERVING = (S.PLACED, S.CONFIRMED, S.BATCHED)  # the statuses whose lines hold reserved stock

# --- hostile values -------------------------------------------------------------------------

# str values are sent UTF-8 encoded with lone surrogates passed through (so they arrive as
# invalid UTF-8); bytes values are sent as they are.
HOSTILE_LITERALS = [
    "\x00",
    "a\x00b",
    "1\x00",
    "x" * 10_000,
    "9" * 10_000,
    "张" * 10_000,
    "-1",
    "0",
    str(10**30),
    str(-(10**30)),
    str(2**63),
    "1e309",
    "-1e309",
    "NaN",
    "inf",
    "1.5",
    "2.0",
    "",
    " ",
    "\t\r\n",
    "１２３",  # full-width digits
    "²",  # a digit to str.isdigit(), not to int()
    "٣",  # Arabic-Indic three
    "'; DROP TABLE orders_order; --",
    "1 OR 1=1",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "%",
    "%zz",
    "\ud800",
    "a\udfffb",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\x00\xff",
    "0x10",
    "1_000",
    "true",
    "null",
    "[]",
    "{}",
    "../../etc/passwd",
    "２０２６-１１-２４",
    "2026-02-30",
    "9999-12-31",
    "0000-00-00",
    "\u202e",
    "🌾" * 3000,
    "//evil.example/",
    "javascript:alert(1)",
]
# the worst of them, which every field gets in turn (hypothesis then mixes all of them at random)
SWEEP = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    str(10**30),
    "1e309",
    "NaN",
    "-1",
    "²",
    "１２３",
    "\ud800",
    b"\xff\xfe",
    "%zz",
    "",
    "<script>alert(1)</script>",
    "'; DROP TABLE orders_order; --",
]
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_LITERALS),
    st.text(st.characters(codec=None), max_size=20),  # any code point, lone surrogates included
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.binary(max_size=12),
)


def values(*valid: str):
    """A field: missing, one or more hostile values (a list where a scalar is expected), or a valid one."""
    hostile = st.lists(HOSTILE, min_size=0, max_size=3)
    if not valid:
        return hostile
    return st.one_of(hostile, st.sampled_from(valid).map(lambda v: [v]), st.sampled_from(valid).map(lambda v: [v]))


def _encode(value) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


def urlencode_raw(pairs) -> str:
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


def pairs_of(fields: dict, extra: list) -> list:
    pairs = [(name, value) for name, given_values in fields.items() for value in given_values]
    return pairs + extra


EXTRA_PAIRS = st.lists(st.tuples(HOSTILE, HOSTILE), max_size=2)  # fields nobody asked for, named anything


# --- the world: one station, its county, orders in every state that has a page action ------------


@dataclass
class World:
    staff: object
    manager: object
    villager: Villager
    product: object
    category: object
    placed: Order
    at_station: Order
    collected: Order
    stop: BatchStop
    batch: DeliveryBatch
    draft_statement: CommissionStatement
    approved_statement: CommissionStatement
    parcels: list = field(default_factory=list)
    refund: object = None  # owed for a paid order cancelled: the refund pages' object
    pickup: Pickup | None = None
    remittance: Remittance | None = None  # cash handed to a driver, waiting for the county's confirmation
    slip: Order | None = None  # placed for a villager without SMS: the slip carries the pickup code
    review: object = None  # an order the county reviews
    call_back: object = None  # a slip order drawn for a call-back


@pytest.fixture
def world(db) -> World:
    station = ServiceCenterFactory(code="A-001", name="里叶村服务站")
    county = station.village.county
    staff = StationStaffFactory(user=UserFactory(username="alice"), service_center=station).user
    manager = CountyManagerFactory(user=UserFactory(username="carol"), county=county).user
    warehouse = WarehouseFactory(county=county, code="WH-A")
    villager = VillagerFactory(service_center=station, name="王建国", phone="+8613812345678")
    category = CategoryFactory(slug="fertilizer", name="化肥")
    product = ProductFactory(sku="FERT-50", name="复合肥 50kg", category=category, price=Decimal("168.00"))
    StockFactory(product=product, warehouse=warehouse, on_hand=1000)
    route = RouteFactory(warehouse=warehouse, code="JD-R1", cutoff_time=time(16, 0))
    RouteStopFactory(route=route, service_center=station, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse, capacity_kg=Decimal("5000"), capacity_m3=Decimal("50")))
    keys = iter(range(1000))

    def place(quantity=1):
        return services.place_order(
            station=station,
            villager=villager,
            placed_by=staff,
            lines=[services.LineRequest(product.sku, quantity)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key=f"w-{next(keys)}",
            notify=False,
        ).order

    def carry(order):
        services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff)
        services.transition(order, to=S.BATCHED, actor=staff)
        depart(order=order, actor=staff)
        return arrive(order=order, actor=staff, notify=False)

    # goods a villager brought back: the batch below takes them on its return leg (a pickup the county receives)
    back = carry(place(2))
    back = services.hand_over(order=back, actor=staff, pickup_code=back.pickup_code)
    returns.return_order(order=back, actor=staff, reason="不要了")
    # two confirmed orders planned into a batch that left: a stop the station receives
    with time_machine.travel(local(DAY, 9), tick=False):
        for _ in range(2):
            services.confirm_payment(order=(placed := place()), consent_code=placed.consent_code, actor=staff)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=DAY)
    batch = dispatch.depart_batch(batch=DeliveryBatch.objects.get())
    stop = BatchStop.objects.get(batch=batch)
    placed = place(2)
    at_station = carry(place())
    collected = carry(place())
    collected = services.hand_over(order=collected, actor=staff, pickup_code=collected.pickup_code)
    refunded = place()
    services.confirm_payment(order=refunded, consent_code=refunded.consent_code, actor=staff)
    services.cancel_order(order=refunded, actor=staff, reason="不要了")
    draft = CommissionStatement.objects.create(service_center=station, month=date(2026, 9, 1))
    approved = CommissionStatement.objects.create(
        service_center=station, month=date(2026, 10, 1), status=CommissionStatement.Status.APPROVED
    )
    # the cash book: the sales above are in the drawer, and ¥100 of it was handed to the driver
    remittance = cash.record_remittance(
        station=station, actor=staff, amount="100", slip_number="W-001", handed_to="driver", run_code="JD-R1"
    )
    slip = services.place_order(
        station=station,
        villager=VillagerFactory(service_center=station, name="张无机", phone="", sms_consent=False),
        placed_by=staff,
        lines=[services.LineRequest(product.sku, 1)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key="w-slip",
    ).order
    world = World(
        slip=slip,
        review=Review.objects.create(order=placed, service_center=station, month=date(2026, 11, 1), signals=[]),
        call_back=CallBack.objects.create(order=slip),
        staff=staff,
        manager=manager,
        villager=villager,
        product=product,
        category=category,
        placed=placed,
        at_station=at_station,
        collected=collected,
        stop=stop,
        batch=batch,
        draft_statement=draft,
        approved_statement=approved,
        parcels=list(stop.parcels.order_by("pk")),
        refund=refunded.refunds.get(),
        pickup=stop.pickups.get(),
        remittance=remittance,
    )
    assert_whole(world, snapshot())  # the world itself passes the checks
    return world


# --- what "nothing half-done" means ---------------------------------------------------------------


def snapshot() -> dict:
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "events": OrderEvent.objects.count(),
        "villagers": Villager.objects.count(),
        "notifications": Notification.objects.count(),
        "entries": CommissionEntry.objects.count(),
        "reserved": Stock.objects.aggregate(n=Sum("reserved"))["n"],
        "cash_entries": CashEntry.objects.count(),
        "closes": DayClose.objects.count(),
        "remittances": Remittance.objects.count(),
    }


def assert_whole(world: World, before: dict) -> None:
    after = snapshot()
    new_orders = after["orders"] - before["orders"]
    assert new_orders in (0, 1), f"{new_orders} orders from one request"
    assert after["villagers"] - before["villagers"] in (0, 1)
    assert after["entries"] - before["entries"] in (0, 1)
    for name in ("cash_entries", "closes", "remittances"):
        assert after[name] - before[name] in (0, 1), f"{after[name] - before[name]} {name} from one request"
    assert after["lines"] >= before["lines"]
    if new_orders == 0:
        assert after["lines"] == before["lines"], "lines without a new order"
    # every order has its lines, and every order past draft its events
    assert not Order.objects.annotate(n=Count("lines")).filter(n=0).exists(), "an order without lines"
    assert not Order.objects.exclude(status=S.DRAFT).annotate(n=Count("events")).filter(n=0).exists()
    # reserved stock is exactly what the reserving orders hold, never more than on hand
    for stock in Stock.objects.all():
        held = (
            OrderLine.objects.filter(
                product_id=stock.product_id, order__warehouse_id=stock.warehouse_id, order__status__in=RESERVING
            ).aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        assert stock.reserved == held, f"reserved {stock.reserved}, held by orders {held}"
        assert 0 <= stock.reserved <= stock.on_hand
    # no NUL byte reached the database (SQLite would keep it, PostgreSQL refuses it); checked in
    # Python: a NUL in a LIKE pattern ends it on SQLite and is refused on PostgreSQL
    stored = [
        *Villager.objects.values_list("name", "notes"),
        *Order.objects.values_list("notes", "idempotency_key"),
        *OrderEvent.objects.values_list("note"),
        *Parcel.objects.values_list("note"),
        *GoodsReturn.objects.values_list("reason"),
        *Refund.objects.values_list("reason"),
        *StockMovement.objects.values_list("note"),
        *CashEntry.objects.values_list("note", "reference"),
        *DayClose.objects.values_list("note"),
        *Remittance.objects.values_list("slip_number", "run_code", "note"),
    ]
    assert not [row for row in stored if any("\x00" in text for text in row)], "a NUL byte was stored"
    # no villager without a name
    assert not Villager.objects.filter(name__regex=r"^\s*$").exists()
    # the cash book: one sale for each paid order, of its total; one entry for each refund paid out; a close's
    # difference is its count less what was expected, and posted as its entry; a confirmed slip says what came
    paid = Order.objects.filter(paid_at__isnull=False)
    sales = CashEntry.objects.filter(kind=CashEntry.Kind.SALE)
    assert sales.count() == paid.count()
    assert not sales.exclude(amount=F("order__total")).exists(), "a sale that is not its order's total"
    paid_refunds = Refund.objects.filter(paid_at__isnull=False)
    assert CashEntry.objects.filter(kind=CashEntry.Kind.REFUND).count() == paid_refunds.count()
    for close in DayClose.objects.all():
        assert close.difference == close.counted - close.expected and close.counted >= 0
        assert CashEntry.objects.filter(close=close).aggregate(n=Sum("amount"))["n"] == (close.difference or None)
    assert not Remittance.objects.filter(status=Remittance.Status.CONFIRMED, received_amount__isnull=True).exists()
    assert CashEntry.objects.filter(kind=CashEntry.Kind.REMITTANCE).count() == Remittance.objects.count()


# --- the endpoints ------------------------------------------------------------------------------


@dataclass
class Endpoint:
    method: str
    path: object  # world -> path
    user: str  # staff, manager or anon
    fields: object  # world -> {name: its valid values, the one that reaches deepest first}
    query: object = lambda w: {}  # world -> {name: valid values}: for a POST, its query string
    htmx: bool = False
    ok: int = 200  # the answer to the all-valid request, which shows the valid path is reached


def valid(*examples: str) -> tuple:
    return examples


def return_fields(w: World) -> dict:
    """The return form of the collected order: its one line's units back and why, and a note."""
    line = w.collected.lines.get()
    return {
        f"return-qty_{line.pk}": valid("1", "0"),
        f"return-reason_{line.pk}": valid("damaged", "wrong_item", "not_wanted"),
        "return-note": valid("坏了", ""),
        "everything": valid("", "1"),
    }


def fixed(path):
    """A path that does not depend on the world."""
    return lambda w: path


def drawer_of(w: World):
    """The cash in the world's drawer by the book."""
    return cash.drawer(w.placed.service_center)


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


ENDPOINTS = {
    # --- orders
    "order-create": Endpoint(
        "POST",
        fixed("/orders/new/"),
        "staff",
        lambda w: {
            "villager": valid(str(w.villager.pk)),
            "delivery_method": valid("station_pickup", "home_delivery", "home_installation"),
            "payment_method": valid("cash_at_station", "pay_on_pickup"),
            "notes": valid("放门口", ""),
            "idempotency_key": valid("bad-input-key"),
            "sku": valid(w.product.sku, w.product.sku.lower()),
            "quantity": valid("1", "2", "3"),
        },
        ok=302,
    ),
    "order-create-get": Endpoint("GET", fixed("/orders/new/"), "staff", lambda w: {"villager": valid()}),
    "order-villager-search": Endpoint(
        "GET", fixed("/orders/new/villagers/"), "staff", lambda w: {"q": valid("王", "138")}, htmx=True
    ),
    "order-product-search": Endpoint(
        "GET",
        fixed("/orders/new/products/"),
        "staff",
        lambda w: {"q": valid("复合肥", "FERT"), "category": valid(w.category.slug)},
        htmx=True,
    ),
    "order-cart-line": Endpoint(
        "GET",
        fixed("/orders/new/line/"),
        "staff",
        lambda w: {"product": valid(str(w.product.pk))},
        htmx=True,
    ),
    "order-list": Endpoint(
        "GET",
        fixed("/orders/"),
        "staff",
        lambda w: {
            "q": valid("王", "JD"),
            "status": valid("placed", "collected"),
            "date_from": valid("2026-11-01"),
            "date_to": valid("2026-12-31"),
            "villager": valid(str(w.villager.pk)),
            "page": valid("1", "2", "last"),
        },
    ),
    # taking the payment: cash (what was handed over, for the change; less is refused) or a mobile payment's number
    "order-confirm": Endpoint(
        "POST",
        lambda w: f"/orders/{w.placed.number}/confirm/",
        "staff",
        lambda w: {
            "method": valid("cash", "mobile"),
            "received": valid(str(w.placed.total), "400", "1", ""),
            "reference": valid("", "4200001234"),
            "next": valid("receipt", ""),
            "consent_code": valid(w.placed.consent_code, "１２３４", ""),
        },
        ok=302,
    ),
    # the slip with the pickup code: the first print, then reprints with a reason
    "order-slip": Endpoint(
        "POST", lambda w: f"/orders/{w.slip.number}/slip/", "staff", lambda w: {"reason": valid("", "丢了")}
    ),
    "order-resend-code": Endpoint(
        "POST", lambda w: f"/orders/{w.placed.number}/resend-code/", "staff", lambda w: {}, ok=302
    ),
    # the villager lost the code: a reason and the ID check
    "order-hand-over-without-code": Endpoint(
        "POST",
        lambda w: f"/orders/{w.at_station.number}/hand-over/",
        "staff",
        lambda w: {
            "without_code": valid("on"),
            "lost_reason": valid("短信删了", ""),
            "id_check": valid("本人身份证 尾号1234", ""),
        },
        ok=302,
    ),
    "order-cancel": Endpoint(
        "POST",
        lambda w: f"/orders/{w.placed.number}/cancel/",
        "staff",
        lambda w: {"cancel-reason": valid("村民不要了", "")},
        ok=302,
    ),
    "order-hand-over": Endpoint(
        "POST",
        lambda w: f"/orders/{w.at_station.number}/hand-over/",
        "staff",
        lambda w: {"pickup_code": valid(w.at_station.pickup_code, f" {w.at_station.pickup_code} ", "000000")},
        ok=302,
    ),
    # a return by line: the review (the confirmation page), then its confirmed step
    "order-return-review": Endpoint(
        "POST",
        lambda w: f"/orders/{w.collected.number}/return/",
        "staff",
        lambda w: return_fields(w),
    ),
    "order-return": Endpoint(
        "POST",
        lambda w: f"/orders/{w.collected.number}/return/",
        "staff",
        lambda w: {
            **return_fields(w),
            "step": valid("confirm", "edit"),
            "refund": valid(str(w.collected.lines.get().line_total)),
            "commission": valid(str(w.collected.lines.get().commission_amount)),
        },
        ok=302,
    ),
    "order-send-back": Endpoint(
        "POST",
        lambda w: f"/orders/{w.at_station.number}/send-back/",
        "staff",
        lambda w: {
            "back-kind": valid("refused", "uncollected"),
            "back-reason": valid("不要了", ""),
            "step": valid("confirm", ""),
        },
        ok=302,
    ),
    # --- refunds and goods for the driver
    "refund-list": Endpoint("GET", fixed("/refunds/"), "staff", lambda w: {"page": valid()}),
    "refund-pay-page": Endpoint(
        "GET", lambda w: f"/refunds/{w.refund.pk}/pay/", "staff", lambda w: {"next": valid("order-detail")}
    ),
    "refund-pay": Endpoint(
        "POST",
        lambda w: f"/refunds/{w.refund.pk}/pay/",
        "staff",
        lambda w: {"amount": valid(str(w.refund.amount), "1.00"), "next": valid("order-detail", "refund-list", "")},
        ok=302,
    ),
    "going-back": Endpoint("GET", fixed("/going-back/"), "staff", lambda w: {"page": valid()}),
    # --- villagers
    "villager-list": Endpoint(
        "GET", fixed("/villagers/"), "staff", lambda w: {"q": valid("王", "13812"), "page": valid("1")}
    ),
    "villager-create": Endpoint(
        "POST",
        fixed("/villagers/new/"),
        "staff",
        lambda w: {
            "name": valid("张三"),
            "phone": valid("13912345678", "+86 139 1234 5679", ""),
            "sms_consent": valid("on", ""),
            "notes": valid("耳背", ""),
        },
        query=lambda w: {"next": valid("/orders/new/")},
        ok=302,
    ),
    "villager-edit": Endpoint(
        "POST",
        lambda w: f"/villagers/{w.villager.pk}/edit/",
        "staff",
        lambda w: {
            "name": valid("王建国"),
            "phone": valid("13812345678", ""),
            "sms_consent": valid("on", ""),
            "notes": valid("耳背", ""),
        },
        ok=302,
    ),
    # --- deliveries
    "delivery-receive": Endpoint(
        "POST",
        lambda w: f"/deliveries/{w.stop.pk}/receive/",
        "staff",
        lambda w: {
            name: strategy
            for parcel in w.parcels
            for name, strategy in (
                (f"parcel-{parcel.pk}", valid("missing", "delivered", "damaged")),
                (f"note-{parcel.pk}", valid("箱子破了", "")),
            )
        },
        ok=302,
    ),
    # a parcel turning up: a free note, and the label in the path (the world's parcel is not missing: refused)
    "parcel-found": Endpoint(
        "POST",
        lambda w: f"/deliveries/parcels/{w.parcels[0].label}/found/",
        "staff",
        lambda w: {"note": valid("在仓库角落找到", "")},
        ok=302,
    ),
    # --- commissions: the pages read no parameters; junk ones must not matter either
    "commission-overview": Endpoint("GET", fixed("/commissions/"), "staff", lambda w: {"month": valid()}),
    "statement-csv": Endpoint(
        "GET", lambda w: f"/commissions/{w.draft_statement.pk}/csv/", "staff", lambda w: {"month": valid()}
    ),
    "county-home": Endpoint("GET", fixed("/county/"), "manager", lambda w: {"month": valid()}),
    "county-commissions": Endpoint("GET", fixed("/county/commissions/"), "manager", lambda w: {"month": valid()}),
    "statement-approve-page": Endpoint(
        "GET",
        lambda w: f"/county/statements/{w.draft_statement.pk}/approve/",
        "manager",
        lambda w: {"next": valid("county-home")},
    ),
    "statement-approve": Endpoint(
        "POST",
        lambda w: f"/county/statements/{w.draft_statement.pk}/approve/",
        "manager",
        lambda w: {"total": valid("0.00"), "next": valid("county-home", "")},
        ok=302,
    ),
    "statement-paid": Endpoint(
        "POST",
        lambda w: f"/county/statements/{w.approved_statement.pk}/paid/",
        "manager",
        lambda w: {"total": valid("0.00"), "next": valid("county-commissions", "")},
        ok=302,
    ),
    # --- dispatch
    "dispatch-board": Endpoint(
        "GET", fixed("/county/dispatch/"), "manager", lambda w: {"date": valid(DAY.isoformat())}
    ),
    "dispatch-plan": Endpoint(
        "POST",
        fixed("/county/dispatch/plan/"),
        "manager",
        lambda w: {},
        query=lambda w: {"date": valid(DAY.isoformat(), "2026-11-25")},
        ok=302,
    ),
    # --- the way back: the county warehouse receives a pickup
    "county-pickups": Endpoint(
        "GET", fixed("/county/pickups/"), "manager", lambda w: {"label": valid(w.pickup.label, "B999999")}, ok=302
    ),
    "county-pickup": Endpoint(
        "POST",
        lambda w: f"/county/pickups/{w.pickup.label}/",
        "manager",
        lambda w: (
            {
                name: strategy
                for line in w.pickup.goods_return.lines.all()
                for name, strategy in (
                    (f"sellable-{line.pk}", valid("1", "2", "0")),
                    (f"damaged-{line.pk}", valid("1", "0", "2")),
                )
            }
            | {"note": valid("一袋破了", "")}
        ),
        ok=302,
    ),
    # --- the cash book: the day's close (the figures, then confirmed), cash handed to the county
    "cash-close": Endpoint(
        "POST",
        fixed("/cash/close/"),
        "staff",
        lambda w: {
            "day": valid(days_ago(0), days_ago(1), days_ago(30)),
            "counted": valid(str(drawer_of(w)), "0", "1000.50"),
            "expected": valid(str(drawer_of(w)), "0.00"),
            "note": valid("数错了", ""),
            "step": valid("confirm", "preview"),
            "n_100": valid("", "3"),
        },
        ok=302,
    ),
    "cash-remittance": Endpoint(
        "POST",
        fixed("/cash/remittances/new/"),
        "staff",
        lambda w: {
            "amount": valid("50.00", "1", str(drawer_of(w) + 1)),  # more than the drawer: refused
            "slip_number": valid("S-NEW-1", w.remittance.slip_number),  # a slip recorded already: refused
            "handed_to": valid("driver", "county"),
            "run_code": valid("JD-R1", ""),
            "note": valid("交给司机", ""),
            "step": valid("confirm", "preview"),
        },
        ok=302,
    ),
    "county-promises": Endpoint("GET", fixed("/county/promises/"), "manager", lambda w: {}),
    "county-charts": Endpoint(
        "GET",
        fixed("/county/charts/"),
        "manager",
        lambda w: {
            "period": valid("weeks", "months", "days"),
            "station": valid("", w.placed.service_center.code, "B-001"),
        },
    ),
    "county-produce-figures": Endpoint(
        "GET", fixed("/county/produce/figures/"), "manager", lambda w: {"month": valid("2026-11", "2026-13", "x")}
    ),
    "county-review": Endpoint(
        "GET", fixed("/county/review/"), "manager", lambda w: {"month": valid("2026-11", "2026-13", "x")}
    ),
    "county-review-check": Endpoint(
        "POST", fixed("/county/review/check/"), "manager", lambda w: {"month": valid("2026-11", "")}, ok=302
    ),
    "county-review-detail": Endpoint(
        "POST",
        lambda w: f"/county/reviews/{w.review.pk}/",
        "manager",
        lambda w: {
            "decision": valid("confirm", "clear"),
            "reason": valid("给自己下单", ""),
            "step": valid("confirmed", ""),
        },
        ok=302,
    ),
    "county-call-back-record": Endpoint(
        "POST",
        lambda w: f"/county/call-backs/{w.call_back.pk}/",
        "manager",
        lambda w: {"result": valid("denied", "confirmed", "unreachable"), "note": valid("没买过", "")},
        ok=302,
    ),
    "county-cash": Endpoint(
        "GET", fixed("/county/cash/"), "manager", lambda w: {"sort": valid("owed", "closed", "differences", "credit")}
    ),
    "county-cash-csv": Endpoint("GET", fixed("/county/cash.csv"), "manager", lambda w: {"sort": valid()}),
    "remittance-confirm": Endpoint(
        "POST",
        lambda w: f"/county/remittances/{w.remittance.pk}/confirm/",
        "manager",
        lambda w: {"received": valid(str(w.remittance.amount), "90", "0")},
        ok=302,
    ),
    "cash-float": Endpoint(
        "POST",
        fixed("/county/cash/float/"),
        "manager",
        lambda w: {
            "station": valid(w.placed.service_center.code, "B-001"),  # B-001: not a station of this county
            "amount": valid("200.00", "-50", str(-drawer_of(w) - 1)),  # more taken back than the drawer: refused
            "note": valid("零钱", ""),
        },
        ok=302,
    ),
    # --- language and login (no one logged in)
    "set-language": Endpoint(
        "POST",
        fixed("/i18n/setlang/"),
        "anon",
        lambda w: {"language": valid("en", "zh-hans"), "next": valid("/")},
        ok=302,
    ),
    "login": Endpoint(
        "POST",
        fixed("/accounts/login/"),
        "anon",
        lambda w: {"username": valid("alice"), "password": valid(PASSWORD, "wrong")},
        query=lambda w: {"next": valid("/orders/")},
        ok=302,
    ),
    "admin-login": Endpoint(
        "POST",
        fixed("/admin/login/"),
        "anon",
        lambda w: {"username": valid("alice"), "password": valid(PASSWORD, "wrong"), "next": valid("/admin/")},
    ),
    "logout-everywhere": Endpoint("POST", fixed("/accounts/logout-everywhere/"), "staff", lambda w: {}, ok=302),
    "login-get": Endpoint("GET", fixed("/accounts/login/"), "anon", lambda w: {"next": valid("/orders/")}),
}


def request_strategy(endpoint: Endpoint, world: World):
    return st.fixed_dictionaries(
        {
            "fields": st.fixed_dictionaries({k: values(*v) for k, v in endpoint.fields(world).items()}),
            "query": st.fixed_dictionaries({k: values(*v) for k, v in endpoint.query(world).items()}),
            "extra": EXTRA_PAIRS,
            "htmx": st.booleans() if endpoint.htmx else st.just(False),
        }
    )


def sweep(endpoint: Endpoint, world: World):
    """Each field in turn gets each of the worst values while the others stay valid: the deterministic part."""
    fields = endpoint.fields(world)
    query = endpoint.query(world)
    valid_fields = {k: list(v[:1]) for k, v in fields.items()}
    valid_query = {k: list(v[:1]) for k, v in query.items()}
    yield {"fields": valid_fields, "query": valid_query, "extra": [], "htmx": False}
    for value in SWEEP:
        for name in fields:
            yield {"fields": {**valid_fields, name: [value]}, "query": valid_query, "extra": [], "htmx": False}
        for name in query:
            yield {"fields": valid_fields, "query": {**valid_query, name: [value]}, "extra": [], "htmx": False}
        if not fields and not query:
            yield {"fields": {}, "query": {}, "extra": [(value, value)], "htmx": False}


def send(client: Client, endpoint: Endpoint, world: World, drawn: dict):
    path = endpoint.path(world)
    headers = {"HX-Request": "true"} if drawn["htmx"] else {}
    if endpoint.method == "GET":
        query = urlencode_raw(pairs_of(drawn["fields"], drawn["extra"]))
        return client.get(f"{path}?{query}", headers=headers)
    query = urlencode_raw(pairs_of(drawn["query"], []))
    body = urlencode_raw(pairs_of(drawn["fields"], drawn["extra"]))
    return client.post(
        f"{path}?{query}" if query else path,
        data=body.encode("ascii"),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_it_answers_hostile_input_without_a_500_or_half_stored_data(world, name):
    endpoint = ENDPOINTS[name]
    user = {"staff": world.staff, "manager": world.manager, "anon": None}[endpoint.user]

    def check(drawn) -> int:
        with transaction.atomic():
            # a client of its own for each example: a login, a logout or a language switch must not carry over
            client = Client()
            if user is not None:
                client.force_login(user)
            before = snapshot()
            response = send(client, endpoint, world, drawn)
            assert response.status_code in OK_STATUSES, f"{name}: {response.status_code} for {drawn!r:.300}"
            assert_whole(world, before)
            transaction.set_rollback(True)
        return response.status_code

    all_valid, *hostile = sweep(endpoint, world)
    assert check(all_valid) == endpoint.ok
    for drawn in hostile:
        check(drawn)

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.large_base_example,
        ],
        database=None,
    )
    @given(drawn=request_strategy(endpoint, world))
    def random_mixes(drawn):
        check(drawn)

    random_mixes()


# --- hostile values in the path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "method", "path"),
    [
        ("staff", "GET", f"/villagers/{10**30}/"),
        ("staff", "POST", f"/villagers/{10**30}/edit/"),
        ("staff", "POST", f"/deliveries/{2**63}/receive/"),
        ("staff", "GET", f"/parcel-photos/{2**63}/"),
        ("staff", "POST", "/deliveries/parcels/%00/found/"),
        ("staff", "POST", f"/deliveries/parcels/P{'9' * 5000}/found/"),
        ("manager", "GET", f"/parcel-photos/{10**30}/thumbnail/"),
        ("staff", "GET", f"/commissions/{10**30}/csv/"),
        ("staff", "POST", "/orders/00000000000000000000/cancel/"),
        ("staff", "POST", "/orders/00000000000000000000/send-back/"),
        ("staff", "GET", f"/refunds/{10**30}/pay/"),
        ("staff", "POST", f"/refunds/{2**63}/pay/"),
        ("manager", "POST", f"/county/statements/{10**30}/approve/"),
        ("manager", "POST", f"/county/statements/{2**63}/paid/"),
        ("manager", "GET", "/county/batches/%00/manifest/"),
        ("manager", "GET", "/county/batches/a%00b/manifest.csv"),
        ("manager", "GET", f"/county/batches/{'X' * 10_000}/manifest/"),
        ("manager", "GET", "/county/batches/%FF%FE/manifest/"),
        ("manager", "GET", "/county/pickups/%00/"),
        ("manager", "POST", f"/county/pickups/B{10**30}/"),
        ("manager", "POST", f"/county/pickups/B{'9' * 5000}/"),
        ("manager", "GET", "/county/pickups/b1/"),
        ("staff", "GET", f"/cash/closes/{10**30}/"),
        ("staff", "GET", f"/cash/closes/{2**63}/"),
        ("staff", "GET", "/cash/closes/-1/"),
        ("staff", "GET", "/cash/closes/%00/"),
        ("manager", "POST", f"/county/remittances/{10**30}/confirm/"),
        ("manager", "GET", f"/county/remittances/{2**63}/confirm/"),
        ("manager", "POST", "/county/remittances/１/confirm/"),
        ("manager", "POST", "/county/remittances/0/confirm/"),
    ],
)
def test_hostile_values_in_the_path_are_a_404(world, user, method, path):
    client = Client()
    client.force_login(world.staff if user == "staff" else world.manager)
    before = snapshot()

    response = client.generic(method, path)

    assert response.status_code == 404
    assert_whole(world, before)
