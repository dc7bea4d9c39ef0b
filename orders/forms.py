import uuid
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import MONEY
from partners.models import ServiceCenter, Villager

from . import payments, returns
from .errors import OrderError
from .models import GoodsReturn, GoodsReturnLine, Order, OrderLine
from .services import MAX_LINES, MAX_QUANTITY, LineRequest, WithoutCode


class OrderForm(forms.Form):
    """The order of /orders/new/ without its lines (they come as parallel ``sku``/``quantity`` lists)."""

    villager = forms.ModelChoiceField(
        queryset=Villager.objects.none(),
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose the villager you are ordering for."),
            "invalid_choice": _("Choose a villager of your station."),
        },
    )
    delivery_method = forms.ChoiceField(
        label=_("Delivery"),
        choices=Order.DeliveryMethod.choices,
        initial=Order.DeliveryMethod.STATION_PICKUP,
        widget=forms.RadioSelect,
    )
    payment_method = forms.ChoiceField(
        label=_("Payment"),
        choices=Order.PaymentMethod.choices,
        initial=Order.PaymentMethod.CASH_AT_STATION,
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, station: ServiceCenter, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["villager"].queryset = Villager.objects.filter(service_center=station)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        self.lines: list[LineRequest] = []

    def clean(self):
        cleaned = super().clean()
        skus = self.data.getlist("sku") if hasattr(self.data, "getlist") else []
        quantities = self.data.getlist("quantity") if hasattr(self.data, "getlist") else []
        # A NUL byte is in no product code, and PostgreSQL refuses it in a query (a 500).
        if len(skus) != len(quantities) or any("\x00" in sku for sku in skus):
            raise forms.ValidationError(_("The cart was sent incomplete; please try again."))
        if len(skus) > MAX_LINES:
            raise forms.ValidationError(_("At most %(max)s products in one order.") % {"max": MAX_LINES})
        lines = []
        for sku, raw in zip(skus, quantities, strict=True):
            sku = sku.strip()[:40]
            try:
                quantity = int(raw)
            except (TypeError, ValueError):
                quantity = None
            if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
                self.add_error(
                    None,
                    _("The quantity of %(sku)s must be a whole number from 1 to %(max)s.")
                    % {"sku": sku, "max": MAX_QUANTITY},
                )
                continue
            lines.append(LineRequest(sku=sku, quantity=quantity))
        if not skus:
            raise forms.ValidationError(_("Add at least one product to the cart."))
        self.lines = lines
        return cleaned


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Order number or villager"), required=False, max_length=50)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("all"))] + Order.Status.choices)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    villager = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=2**62)


class CatalogSearchForm(forms.Form):
    """The catalog search of the order form (htmx): what is typed, and a category link."""

    q = forms.CharField(required=False, max_length=50)
    category = forms.SlugField(required=False, max_length=50)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class TenderForm(forms.Form):
    """How the villager pays at the counter: cash (what they handed over, for the change) or a scanned mobile
    payment (its transaction number).  Blank cash received: exactly what is due."""

    method = forms.ChoiceField(
        label=_("Paid by"),
        choices=payments.Method.choices,
        initial=payments.Method.CASH,
        required=False,
        widget=forms.RadioSelect,
    )
    received = forms.DecimalField(
        label=_("Cash received (¥, for the change)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reference = forms.CharField(label=_("Mobile payment number"), max_length=64, required=False)

    def tender(self) -> payments.Tender:
        data = self.cleaned_data
        method = data.get("method") or payments.Method.CASH
        received = data.get("received") if method == payments.Method.CASH else None
        return payments.Tender(method=method, received=received, reference=data.get("reference", ""))


class ConfirmForm(TenderForm):
    """Confirming an order: the villager's say (the code from their SMS, or the signed slip's number) and
    how they paid.  The code is checked by the service (``orders.consent``), so a wrong one is refused there."""

    consent_code = forms.CharField(
        label=_("Code from the villager"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 8}),
    )


class PickupCodeForm(TenderForm):
    pickup_code = forms.RegexField(
        label=_("Pickup code"),
        regex=r"^\s*\d{6}\s*$",
        required=False,
        error_messages={"invalid": _("The pickup code has six digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6}),
    )
    # Pay on pickup: the staff ticks that the amount due was taken, in the same step as the hand-over.
    payment_taken = forms.BooleanField(label=_("Payment received"), required=False)
    # The villager lost the code: only with a reason and the ID check, and counted for the county.
    without_code = forms.BooleanField(label=_("The villager lost the code"), required=False)
    lost_reason = forms.CharField(label=_("What happened"), max_length=150, required=False)
    id_check = forms.CharField(
        label=_("ID check"),
        max_length=140,
        required=False,
        help_text=_("Whose ID card you saw, and its last four digits."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("without_code"):
            if not (cleaned.get("lost_reason") or "").strip():
                self.add_error("lost_reason", _("Say what happened to the code."))
            if not (cleaned.get("id_check") or "").strip():
                self.add_error("id_check", _("Note whose ID card you checked."))
        elif not (cleaned.get("pickup_code") or "").strip() and "pickup_code" not in self.errors:
            self.add_error("pickup_code", _("Enter the pickup code the villager shows."))
        return cleaned

    def without(self):
        """The hand-over without the code this form asks for, or None."""
        if not self.cleaned_data.get("without_code"):
            return None
        return WithoutCode(self.cleaned_data["lost_reason"], self.cleaned_data["id_check"])


class ReprintForm(forms.Form):
    reason = forms.CharField(
        label=_("Why print it again"),
        max_length=200,
        required=False,
        help_text=_("The villager lost the slip, the printer jammed… Reprints are counted for the county."),
    )


# --- the way back: returns by line, goods sent back, refunds paid out ------------------------------


class ReturnLinesForm(forms.Form):
    """A return by line: how many units of each returnable line come back and why, and a note.

    Its fields are made from the lines (``qty_<line id>``, ``reason_<line id>``).  ``clean`` works
    the return out with ``returns.preview_return``, the function the service prices it with, so
    every refusal of the service is a form error here and ``preview`` holds the very figures the
    return will record.  ``everything``: every unit still returnable, each line with its reason.
    """

    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)

    def __init__(self, *args, order: Order, lines: list[OrderLine], everything: bool = False, now=None, **kwargs):
        kwargs.setdefault("prefix", "return")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.order, self.lines = order, lines
        self.now = now or timezone.now()
        self.preview: returns.ReturnPreview | None = None
        self.back: list[returns.LineBack] = []
        self.windows = {line.pk: self._window(line) for line in lines}
        for line in lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=_("Units back"),
                required=False,
                min_value=0,
                max_value=line.quantity - line.returned_quantity,
                initial=0,
                error_messages={
                    "invalid": _("Enter a whole number."),
                    "min_value": _("Enter a whole number."),
                    "max_value": _("At most %(limit_value)s can still be returned."),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty"}),
            )
            # Not required: a line with no units back needs no reason (the select always sends one anyway).
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=_("Why"),
                required=False,
                choices=GoodsReturnLine.Reason.choices,
                initial=GoodsReturnLine.Reason.NOT_WANTED,
            )
        if everything and self.is_bound:
            self.data = self.data.copy()
            for line in lines:
                if self.windows[line.pk]["open"]:
                    self.data[self.add_prefix(f"qty_{line.pk}")] = str(line.quantity - line.returned_quantity)

    def _window(self, line: OrderLine) -> dict:
        days = returns.line_return_days(line)
        collected = self.order.collected_at
        deadline = collected + timedelta(days=days) if collected is not None and days else None
        return {"days": days, "deadline": deadline, "open": deadline is not None and self.now <= deadline}

    @property
    def rows(self) -> list[dict]:
        """Each returnable line with its fields, the units left and its window (for the template)."""
        return [
            {
                "line": line,
                "left": line.quantity - line.returned_quantity,
                "quantity": self[f"qty_{line.pk}"],
                "reason": self[f"reason_{line.pk}"],
                **self.windows[line.pk],
            }
            for line in self.lines
        ]

    @property
    def any_open(self) -> bool:
        return any(w["open"] for w in self.windows.values())

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        back = [
            returns.LineBack(
                line.pk,
                cleaned.get(f"qty_{line.pk}") or 0,
                cleaned.get(f"reason_{line.pk}") or GoodsReturnLine.Reason.NOT_WANTED,
            )
            for line in self.lines
        ]
        try:
            self.preview = returns.preview_return(order=self.order, lines=back, now=self.now)
        except OrderError as exc:
            raise forms.ValidationError(str(exc)) from None
        self.back = [b for b in back if b.quantity]
        return cleaned


class ReturnConfirmForm(forms.Form):
    """The figures the confirmation page showed: the return is recorded only if they still hold."""

    refund = forms.DecimalField(**MONEY)
    commission = forms.DecimalField(**MONEY)


class SendBackForm(forms.Form):
    """Goods at the station go back: the villager refused them (with why), or never came for them."""

    kind = forms.ChoiceField(
        choices=[
            (GoodsReturn.Kind.REFUSED, GoodsReturn.Kind.REFUSED.label),
            (GoodsReturn.Kind.UNCOLLECTED, GoodsReturn.Kind.UNCOLLECTED.label),
        ],
        error_messages={
            "required": _("Choose why the goods go back."),
            "invalid_choice": _("Choose why the goods go back."),
        },
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "back")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        cleaned["reason"] = (cleaned.get("reason") or "").strip()
        if cleaned.get("kind") == GoodsReturn.Kind.REFUSED and not cleaned["reason"]:
            self.add_error("reason", _("Say why the villager refused the goods."))
        return cleaned


class RefundPayForm(forms.Form):
    """The amount the confirmation page showed; the service refuses any other."""

    amount = forms.DecimalField(**MONEY)
    next = forms.ChoiceField(choices=[("refund-list", ""), ("order-detail", "")], required=False)
