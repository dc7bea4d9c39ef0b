"""The station's page for an installation order's appointment: the free slots, booking one, booking again."""

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from orders.models import Order
from partners.access import station_required

from . import services
from .models import Appointment


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
