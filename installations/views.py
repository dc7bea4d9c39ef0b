"""The station's page for an installation order's appointment (the free slots, booking one, booking again), and the
installer's phone page (the day's appointments in route order, each visit's steps)."""

from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from orders import services as order_services
from orders.models import Order
from partners.access import station_required
from partners.phones import mask_name

from . import services
from .models import Appointment, Installer


def _slot_value(day: date, half_day: str) -> str:
    return f"{day.isoformat()}|{half_day}"


def _slot_text(slot) -> str:
    return f"{slot.day:%Y-%m-%d} {Appointment.HalfDay(slot.half_day).label}"


@station_required
def book_installation(request, number: str):
    order = get_object_or_404(
        Order.objects.select_related("service_center__village__county", "villager"),
        number=number,
        service_center=request.station,
    )
    if order.delivery_method != Order.DeliveryMethod.HOME_INSTALLATION:
        raise Http404("Not an installation order")
    error, chosen = "", request.POST.get("slot", "")
    if request.method == "POST":
        try:
            day_text, half_day = chosen.split("|")
            day = date.fromisoformat(day_text)
        except ValueError:
            error = _("Choose a time from the list.")
        else:
            try:
                appointment = services.book(order=order, day=day, half_day=half_day, actor=request.user)
            except services.SlotTaken as exc:
                error = str(exc)
                if exc.next_free is not None:
                    error += " " + _("The next free time is %(slot)s.") % {"slot": _slot_text(exc.next_free)}
                    chosen = _slot_value(exc.next_free.day, exc.next_free.half_day)
            except services.BookingError as exc:
                error = str(exc)
            else:
                messages.success(
                    request,
                    _("Installation booked for %(slot)s; the villager gets an SMS.")
                    % {"slot": _slot_text(appointment)},
                )
                return redirect("order-detail", number=order.number)
    slots = services.slots_for(order) if order.status in services.BOOKABLE else []
    context = {
        "order": order,
        "appointment": services.live_appointment(order),
        "history": order.appointments.select_related("installer").order_by("-booked_at", "-pk"),
        "bookable": order.status in services.BOOKABLE,
        "slots": [(_slot_value(s.day, s.half_day), s) for s in slots],
        "chosen": chosen,
        "error": error,
    }
    return render(request, "installations/book.html", context, status=400 if error else 200)


@station_required
@require_GET
def station_installations(request):
    """The station's installation orders: those to book a time for (never booked, or a visit failed), and the
    appointments ahead."""
    context = {
        "to_book": services.waiting_for_a_time(request.station),
        "ahead": services.booked_ahead(request.station),
    }
    return render(request, "installations/station.html", context)


@station_required
@require_GET
def installations_tile(request):
    """The dashboard's tile (loaded by htmx): installation orders waiting for a time; nothing when none."""
    return render(request, "installations/_tile.html", {"count": services.how_many_wait_for_a_time(request.station)})


# --- the installer's phone page: the day's appointments, and each visit's steps ---------------------------


def installer_required(view):
    """Login required, then ``request.installer``: the user's active installer record.  Anyone else gets a 404,
    and an installer sees only their own appointments (another's, in their county or not, is a 404 too)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        installer = Installer.objects.select_related("county").filter(user=request.user, is_active=True).first()
        if installer is None:
            raise Http404("Not an installer")
        request.installer = installer
        return view(request, *args, **kwargs)

    return wrapper


@installer_required
@require_GET
def installer_day(request):
    """The installer's appointments of a day (today unless ``?day=``), in route order."""
    today = timezone.localdate()
    try:
        day = date.fromisoformat(request.GET.get("day") or today.isoformat())
    except ValueError:
        day = today
    appointments = sorted(
        Appointment.objects.filter(installer=request.installer, day=day)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("order__villager", "order__service_center__route_stop")
        .prefetch_related("order__lines__product"),
        key=services.route_order,
    )
    coming = (
        Appointment.objects.filter(installer=request.installer, day__gt=day, status__in=Appointment.LIVE)
        .order_by("day")
        .values_list("day", flat=True)
        .first()
    )
    context = {
        "day": day,
        "today": today,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "coming": coming,
        "rows": [{"appointment": a, "villager": mask_name(a.order.villager.name)} for a in appointments],
    }
    return render(request, "installations/installer_day.html", context)


@installer_required
def installer_visit(request, pk: int):
    """One appointment: on the way, installed (with the villager's pickup code) or failed (with a reason)."""
    appointment = get_object_or_404(
        Appointment.objects.select_related("order__villager", "order__service_center"),
        pk=pk,
        installer=request.installer,
    )
    error = ""
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            if step == "on_the_way":
                services.on_the_way(appointment=appointment, actor=request.user)
                done = _("On the way: the villager's order %(number)s.")
            elif step == "installed":
                services.installed(
                    appointment=appointment, actor=request.user, pickup_code=request.POST.get("pickup_code", "")[:20]
                )
                done = _("Installed: order %(number)s is handed over.")
            elif step == "failed":
                services.failed(
                    appointment=appointment,
                    actor=request.user,
                    reason=request.POST.get("reason", ""),
                    note=request.POST.get("note", ""),
                    then=request.POST.get("then", ""),
                )
                done = _("Recorded: the installation of order %(number)s failed.")
            else:
                raise services.VisitError(_("Choose a step."))
        except (services.BookingError, order_services.OrderError) as exc:
            error = str(exc)
        else:
            messages.success(request, done % {"number": appointment.order.number})
            return redirect(f"{reverse('installer-day')}?day={appointment.day.isoformat()}")
        appointment.refresh_from_db()
    order = appointment.order
    context = {
        "appointment": appointment,
        "order": order,
        "villager": mask_name(order.villager.name),
        "lines": order.lines.select_related("product"),
        "live": appointment.status in Appointment.LIVE and order.status == Order.Status.AT_STATION,
        "waiting_for_goods": appointment.status in Appointment.LIVE and order.status != Order.Status.AT_STATION,
        "reasons": Appointment.FailReason.choices,
        "error": error,
        "posted": request.POST if error else {},
    }
    return render(request, "installations/installer_visit.html", context, status=400 if error else 200)
