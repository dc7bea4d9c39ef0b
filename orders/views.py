"""Partner pages for orders: the dashboard, placing an assisted order, the order list, page and receipt,
and the order page's actions (a return by line and goods sent back each with a confirmation step)."""

import segno
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from catalog import pricing
from catalog.models import Category
from partners.access import is_htmx, station_may, station_required
from partners.forms import VillagerSearchForm
from partners.selectors import villagers_of_station

from . import commissions, consent, expiry, insights, returns, selectors, services
from .forms import (
    CatalogSearchForm,
    ConfirmForm,
    OptionalReasonForm,
    OrderFilterForm,
    OrderForm,
    PickupCodeForm,
    ReprintForm,
    ReturnConfirmForm,
    ReturnLinesForm,
    SendBackForm,
)
from .models import GoodsReturn, Order
from .policy import collection_policy

ORDERS_PER_PAGE = 25
CATALOG_RESULTS = 20
WAITING_ON_DASHBOARD = 10  # the longest waiting; the order list has the rest


@station_required
def dashboard(request):
    station = request.station
    context = {
        "figures": selectors.dashboard_figures(station),
        "waiting": _waiting_for_pickup(station),
        "recent_orders": selectors.with_arrival(selectors.orders_of_station(station))[:5],
        # Called off because the villager never agreed: the partner hears of it here (and by SMS).
        "expired": list(expiry.recently_expired(station)[:10]),
        "villager_count": station.villagers.count(),
        "way_back": selectors.way_back_figures(station),
        # The commission is the partner's income: an assistant's dashboard does not show (or compute) it.
        "commission": (
            commissions.month_summary(station) if station_may(request.station_role, "commissions") else None
        ),
    }
    return render(request, "orders/dashboard.html", context)


def _waiting_for_pickup(station) -> list[Order]:
    """The orders waiting at the station, longest first, each with its ``wait`` (days, how close to going back)."""
    orders = selectors.waiting_for_pickup(station, limit=WAITING_ON_DASHBOARD)
    if orders:
        policy, today = collection_policy(), timezone.localdate()
        for order in orders:
            order.wait = policy.wait(order.arrived_at, today=today)
    return orders


# --- placing an order ------------------------------------------------------------


@never_cache  # "back" must not bring an already-used submission key out of the browser cache
@station_required
@require_http_methods(["GET", "POST"])
def order_create(request):
    station = request.station
    form = OrderForm(request.POST or None, station=station)
    if request.method == "POST" and form.is_valid():
        try:
            placement = services.place_order(
                station=station,
                villager=form.cleaned_data["villager"],
                placed_by=request.user,
                lines=form.lines,
                delivery_method=form.cleaned_data["delivery_method"],
                payment_method=form.cleaned_data["payment_method"],
                notes=form.cleaned_data["notes"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except services.OrderError as exc:
            form.add_error(None, str(exc))
        else:
            if placement.created:
                messages.success(request, _("Order %(number)s is placed.") % {"number": placement.order.number})
            else:
                messages.info(request, _("This order was already placed; here it is."))
            return redirect("order-receipt", number=placement.order.number)

    villager = _chosen_villager(request, form)
    context = {
        "form": form,
        "villager": villager,
        "cart": _cart_rows(request, station) if request.method == "POST" else [],
        "categories": Category.objects.filter(parent=None),
        # What the station's villagers collected in the four weeks from this day last year (one query).
        "last_year": insights.this_time_last_year(station, timezone.localdate()),
    }
    return render(request, "orders/order_form.html", context)


def _chosen_villager(request, form):
    """The villager picked so far: from the posted form, or ?villager= in the link."""
    pk = _id_from(form["villager"].value() if form.is_bound else request.GET.get("villager"))
    if pk is None:
        return None
    villager = request.station.villagers.filter(pk=pk).first()
    if villager and not form.is_bound:
        form.initial["villager"] = villager.pk
    return villager


def _cart_rows(request, station) -> list[dict]:
    """Rebuild the cart from a posted form, so an error never loses what was picked."""
    skus = [sku if "\x00" not in sku else "" for sku in request.POST.getlist("sku")[:100]]  # PostgreSQL refuses NUL
    quantities = request.POST.getlist("quantity")[:100]
    products = {p.sku: p for p in selectors.catalog(warehouse_id=_warehouse_id(station)).filter(sku__in=skus)}
    prices = pricing.unit_prices(list(products.values()), at=timezone.now())
    return [
        {
            "product": products[sku],
            "quantity": qty,
            "price": prices[products[sku].pk],
            "available": selectors.available_units(products[sku]),
        }
        for sku, qty in zip(skus, quantities, strict=False)
        if sku in products
    ]


def _id_from(raw) -> int | None:
    """A row id from a parameter: ASCII digits that fit a bigint, else None.

    str.isdigit() alone lets through "²" (int() refuses it) and 10,000 nines (int() refuses them too).
    """
    raw = str(raw or "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


@station_required
def order_villager_search(request):
    search = VillagerSearchForm(request.GET)  # its field refuses NUL bytes, which PostgreSQL would refuse with a 500
    query = search.cleaned_data["q"] if search.is_valid() else ""
    villagers = villagers_of_station(request.station, query=query)[:10] if query.strip() else []
    return render(request, "orders/_villager_choices.html", {"villagers": villagers, "query": query})


@station_required
def order_product_search(request):
    search = CatalogSearchForm(request.GET)  # its fields refuse NUL bytes, which PostgreSQL would refuse with a 500
    data = search.cleaned_data if search.is_valid() else {}
    query = data.get("q", "")
    category = None
    if data.get("category"):
        category = Category.objects.filter(slug=data["category"]).first()
    warehouse_id = _warehouse_id(request.station)
    products = list(selectors.catalog(warehouse_id=warehouse_id, query=query, category=category)[:CATALOG_RESULTS])
    prices = pricing.unit_prices(products, at=timezone.now())
    rows = [{"product": p, "price": prices[p.pk], "available": selectors.available_units(p)} for p in products]
    return render(request, "orders/_product_results.html", {"rows": rows, "query": query, "category": category})


@station_required
def order_cart_line(request):
    """One cart row for the product the partner just added (htmx appends it to the cart)."""
    pk = _id_from(request.GET.get("product"))
    warehouse_id = _warehouse_id(request.station)
    product = selectors.catalog(warehouse_id=warehouse_id).filter(pk=pk).first() if pk is not None else None
    if product is None:
        raise Http404("No such product on sale")
    price = pricing.unit_prices([product], at=timezone.now())[product.pk]
    row = {"product": product, "quantity": 1, "price": price, "available": selectors.available_units(product)}
    return render(request, "orders/_cart_row.html", {"row": row})


def _warehouse_id(station) -> int | None:
    warehouse = station.warehouse
    return warehouse.pk if warehouse else None


# --- the order list and page -------------------------------------------------------


@station_required
def order_list(request):
    filters = OrderFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    orders = selectors.orders_of_station(
        request.station,
        status=data.get("status", ""),
        villager_id=data.get("villager"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        query=data.get("q", ""),
    )
    page = Paginator(selectors.with_arrival(orders), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    context = {"filters": filters, "page": page, "query_string": query_string.urlencode()}
    template = "orders/_order_rows.html" if is_htmx(request) else "orders/order_list.html"
    return render(request, template, context)


@station_required
def order_detail(request, number: str):
    order = selectors.get_order_of_station(request.station, number)
    return render(request, "orders/order_detail.html", _detail_context(order, role=request.station_role))


def _detail_context(order: Order, *, role: str | None, **forms) -> dict:
    s = Order.Status
    installs_at_home = order.delivery_method == Order.DeliveryMethod.HOME_INSTALLATION
    can_return = order.status == s.COLLECTED and station_may(role, "return_order")
    return_form = forms.get("return_form")
    if return_form is None and can_return:
        return_form = ReturnLinesForm(order=order, lines=returns.returnable_lines(order))
    # A placed order has never had goods back nor a refund: spare its page the three queries.
    goods_returns, other_refunds = ([], []) if order.status == s.PLACED else selectors.way_back_of_order(order)
    return {
        "order": order,
        **_pickup_wait(order),
        "can_confirm": order.status == s.PLACED,
        "can_cancel": order.status in (s.PLACED, s.CONFIRMED),
        "can_hand_over": order.status == s.AT_STATION and not installs_at_home,
        # The installer hands it over at the villager's home (installations): the station books the time.
        "installs_at_home": installs_at_home,
        "installation_failed": installs_at_home and selectors.is_failed_installation(order),
        "pay_on_pickup": order.payment_method == Order.PaymentMethod.PAY_ON_PICKUP,
        "due_at_pickup": services.amount_due_at_pickup(order),
        "can_return": can_return,
        "return_deadline": returns.return_deadline(order),
        "cancel_form": forms.get("cancel_form") or OptionalReasonForm(prefix="cancel"),
        "hand_over_form": forms.get("hand_over_form") or PickupCodeForm(),
        "tender_form": forms.get("tender_form") or ConfirmForm(),
        "may_hand_over_without_code": station_may(role, "hand_over_without_code"),
        **_consent_context(order),
        "return_form": return_form,
        "goods_returns": goods_returns,
        "other_refunds": other_refunds,
        **_send_back_context(order, role=role, form=forms.get("send_back_form")),
    }


def _pickup_wait(order: Order) -> dict:
    """For an order at the station: how long it has waited, its reminders so far and the send-back day."""
    if order.status != Order.Status.AT_STATION:
        return {}
    arrivals = [e.created_at for e in order.events.all() if e.to_status == Order.Status.AT_STATION]  # prefetched
    if not arrivals:
        return {}
    return {
        "wait": collection_policy().wait(arrivals[-1]),
        "reminders": list(order.pickup_reminders.order_by("day")),
    }


def _send_back_context(order: Order, *, role: str | None, form=None) -> dict:
    """Goods waiting at the station may go back: refused at once, not collected after the waiting days."""
    if order.status != Order.Status.AT_STATION or not station_may(role, "send_back"):
        return {"can_send_back": False}
    uncollected_from = returns.uncollected_send_back_from(selectors.at_station_since(order))
    return {
        "can_send_back": True,
        "send_back_form": form or SendBackForm(),
        "send_back_days": returns.send_back_after_days(),
        "uncollected_from": uncollected_from,
        "may_send_uncollected": uncollected_from is not None and timezone.now() >= uncollected_from,
    }


def _consent_context(order: Order) -> dict:
    """What the order page and the receipt say of the villager's say, and of the slip with the code."""
    waiting = order.status == Order.Status.PLACED and order.consent_given_at is None
    carries = consent.slip_carries_code(order)
    printable = order.status in consent.SLIP_PRINTABLE
    return {
        "consent_waiting": waiting,
        "consent_expires_at": consent.expires_at(order) if waiting else None,
        "slip_carries_code": carries,
        "slip_printable": printable,
        "slip_due": carries and printable and order.slip_printed_at is None,
    }


@station_required
def order_receipt(request, number: str):
    order = selectors.get_order_of_station(request.station, number)
    return _receipt(request, order)


def _receipt(request, order: Order, *, show_code: bool = False, form=None, tender_form=None, status: int = 200):
    """The receipt (the order slip): the pickup code and slip number only in the answer to printing it."""
    qr = segno.make(f"{order.number} {order.pickup_code}" if show_code else order.number, error="m")
    # segno writes the SVG itself from the order number and digits: nothing user-typed goes in.
    svg = mark_safe(qr.svg_inline(scale=4, border=2))  # noqa: S308
    context = {
        "order": order,
        "qr_svg": svg,
        "show_code": show_code,
        "reprint_form": form or ReprintForm(),
        "tender_form": tender_form or ConfirmForm(),
        "may_reprint": station_may(request.station_role, "reprint_slip"),
        **_consent_context(order),
    }
    return render(request, "orders/receipt.html", context, status=status)


@station_required
@require_POST
def order_slip(request, number: str):
    """Print the slip with the pickup code (and the slip number the villager signs): recorded, a reprint counted."""
    order = selectors.get_order_of_station(request.station, number)
    form = ReprintForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if order.slip_printed_at is not None and not station_may(request.station_role, "reprint_slip"):
        messages.error(request, _("Only the partner can print a slip again."))
        return redirect("order-receipt", number=order.number)
    try:
        consent.print_slip(order=order, actor=request.user, reason=reason)
    except services.OrderError as exc:
        form.add_error("reason" if order.slip_printed_at else None, str(exc))
        return _receipt(request, order, form=form, status=400)
    return _receipt(request, order, show_code=True)


@station_required
@require_POST
def order_resend_code(request, number: str):
    order = selectors.get_order_of_station(request.station, number)
    try:
        consent.resend_code(order=order, actor=request.user)
    except services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The code was sent again to %(phone)s.") % {"phone": order.villager.masked_sms_phone}
        )
    return redirect("order-detail", number=order.number)


def _act(request, number: str, action, form=None, form_name: str = "", done: str = "order-detail"):
    """Run one order action; a refusal becomes a message (or a form error) on the order page.

    ``done``: the page to show afterwards (the order page, or the receipt to print it paid).
    """
    order = selectors.get_order_of_station(request.station, number)
    role = request.station_role
    if form is not None and not form.is_valid():
        return render(
            request, "orders/order_detail.html", _detail_context(order, role=role, **{form_name: form}), status=400
        )
    try:
        done_order = action(order)
    except services.OrderError as exc:
        # A refusal of what was typed is shown on its form; an order that moved on meanwhile (another tap)
        # has no such form any more: a message on its page says why (409 either way).
        if form is not None and isinstance(exc, services.InvalidTransition):
            messages.error(request, str(exc))
            return render(request, "orders/order_detail.html", _detail_context(order, role=role), status=409)
        if form is not None:
            _form_error(form, exc)
            return render(
                request, "orders/order_detail.html", _detail_context(order, role=role, **{form_name: form}), status=409
            )
        messages.error(request, str(exc))
        return redirect("order-detail", number=order.number)
    change = getattr(done_order, "change_given", None)
    if change:
        messages.info(request, _("Give the villager ¥%(change)s change.") % {"change": change})
    messages.success(
        request,
        _("Order %(number)s is now %(status)s.")
        % {
            "number": order.number,
            "status": Order.Status(order.status).label,
        },
    )
    return redirect(done, number=order.number)


def _form_error(form, exc: Exception) -> None:
    """A refusal on the form: by the code's field when it is about the villager's code."""
    if isinstance(exc, consent.WrongConsentCode | consent.ConsentRequired) and "consent_code" in form.fields:
        form.add_error("consent_code", str(exc))
    else:
        form.add_error(None, str(exc))


@station_required
@require_POST
def order_confirm(request, number: str):
    done = "order-receipt" if request.POST.get("next") == "receipt" else "order-detail"
    form = ConfirmForm(request.POST)
    if done == "order-receipt":
        # From the receipt: a wrong code is said there, by its field, for the partner to ask again.
        order = selectors.get_order_of_station(request.station, number)
        if form.is_valid():
            try:
                services.confirm_payment(
                    order=order,
                    actor=request.user,
                    tender=form.tender(),
                    consent_code=form.cleaned_data["consent_code"],
                )
            except services.OrderError as exc:
                _form_error(form, exc)
                order.refresh_from_db()
                return _receipt(request, order, tender_form=form, status=409)
            change = getattr(order, "change_given", None)
            if change:
                messages.info(request, _("Give the villager ¥%(change)s change.") % {"change": change})
            messages.success(
                request,
                _("Order %(number)s is now %(status)s.")
                % {"number": order.number, "status": Order.Status(order.status).label},
            )
            return redirect(done, number=order.number)
        return _receipt(request, order, tender_form=form, status=400)
    return _act(
        request,
        number,
        lambda order: services.confirm_payment(
            order=order, actor=request.user, tender=form.tender(), consent_code=form.cleaned_data["consent_code"]
        ),
        form,
        "tender_form",
        done=done,
    )


@station_required
@require_POST
def order_cancel(request, number: str):
    form = OptionalReasonForm(request.POST, prefix="cancel")
    return _act(
        request,
        number,
        lambda order: services.cancel_order(order=order, actor=request.user, reason=form.cleaned_data["reason"]),
        form,
        "cancel_form",
    )


@station_required
@require_POST
def order_hand_over(request, number: str):
    form = PickupCodeForm(request.POST)
    if request.POST.get("without_code") and not station_may(request.station_role, "hand_over_without_code"):
        messages.error(request, _("Only the partner can hand goods over without the pickup code."))
        return redirect("order-detail", number=number)
    return _act(
        request,
        number,
        lambda order: services.hand_over(
            order=order,
            actor=request.user,
            pickup_code=form.cleaned_data["pickup_code"],
            payment_taken=form.cleaned_data["payment_taken"],
            tender=form.tender() if form.cleaned_data["payment_taken"] else None,
            without_code=form.without(),
        ),
        form,
        "hand_over_form",
    )


# --- the way back: a return by line, goods sent back ----------------------------------------------


def _order_page(request, order: Order, status: int, **forms):
    context = _detail_context(order, role=request.station_role, **forms)
    return render(request, "orders/order_detail.html", context, status=status)


@station_required(action="return_order")
@require_POST
def order_return(request, number: str):
    """A return by line in two steps: the lines and quantities (on the order page), then the confirmation
    with the refund (``step=confirm`` posts it back with the figures shown; ``step=edit`` goes back to the
    form with what was chosen)."""
    order = selectors.get_order_of_station(request.station, number)
    if order.status != Order.Status.COLLECTED:  # not yet collected, or returned whole meanwhile
        messages.error(
            request,
            _("Order %(number)s is %(status)s: only collected goods can be returned.")
            % {"number": order.number, "status": Order.Status(order.status).label},
        )
        return _order_page(request, order, 409)
    step = request.POST.get("step", "")
    form = ReturnLinesForm(
        request.POST,
        order=order,
        lines=returns.returnable_lines(order),
        everything=bool(request.POST.get("everything")),
    )
    if step == "edit":
        return _order_page(request, order, 200, return_form=form)
    if not form.is_valid():
        return _order_page(request, order, 400, return_form=form)
    context = {"order": order, "form": form, "preview": form.preview}
    if step != "confirm":
        return render(request, "orders/return_confirm.html", context)
    shown = ReturnConfirmForm(request.POST)
    preview = form.preview
    if not shown.is_valid():  # no figures (or unreadable ones) were confirmed: show them
        return render(request, "orders/return_confirm.html", context, status=400)
    if (shown.cleaned_data["refund"], shown.cleaned_data["commission"]) != (preview.refund, preview.commission):
        # Another return of the order came in since the page was shown: its figures are the ones to confirm.
        context["changed"] = True
        return render(request, "orders/return_confirm.html", context, status=409)
    try:
        returns.return_lines(order=order, actor=request.user, lines=form.back, note=form.cleaned_data["note"])
    except services.OrderError as exc:  # another return of the order came first (the preview was right then)
        messages.error(request, str(exc))
        return _order_page(request, order, 409)
    if preview.refund:
        messages.success(
            request,
            _("Return recorded: ¥%(amount)s is owed to %(villager)s. Pay it out of the drawer on the refunds page.")
            % {"amount": preview.refund, "villager": order.villager.name},
        )
    else:
        messages.success(request, _("Return recorded."))
    return redirect("order-detail", number=order.number)


@station_required(action="send_back")
@require_POST
def order_send_back(request, number: str):
    """Goods at the station go back to the warehouse (refused, or not collected in time), after a confirmation."""
    order = selectors.get_order_of_station(request.station, number)
    form = SendBackForm(request.POST)
    if not form.is_valid():
        return _order_page(request, order, 400, send_back_form=form)
    if order.status != Order.Status.AT_STATION:  # sent back already, collected meanwhile...: the page says so
        messages.error(
            request,
            _("Only goods waiting at the station can be sent back; order %(number)s is %(status)s.")
            % {"number": order.number, "status": Order.Status(order.status).label},
        )
        return _order_page(request, order, 409)
    kind = form.cleaned_data["kind"]
    refusal = (
        returns.uncollected_refusal(selectors.at_station_since(order)) if kind == GoodsReturn.Kind.UNCOLLECTED else None
    )
    if refusal:
        form.add_error(None, refusal)
        return _order_page(request, order, 409, send_back_form=form)
    if request.POST.get("step") != "confirm":
        context = {"order": order, "form": form, "kind_label": GoodsReturn.Kind(kind).label}
        return render(request, "orders/send_back_confirm.html", context)
    try:
        returns.send_back(order=order, actor=request.user, kind=kind, reason=form.cleaned_data["reason"])
    except services.OrderError as exc:  # another tap moved the order first
        messages.error(request, str(exc))
        return _order_page(request, order, 409)
    messages.success(
        request,
        _("Order %(number)s goes back to the warehouse: keep the goods for the next truck's driver.")
        % {"number": order.number},
    )
    return redirect("order-detail", number=order.number)
