import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import ServiceCenter, Villager

from .models import Order
from .services import MAX_LINES, MAX_QUANTITY, LineRequest


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


class PickupCodeForm(forms.Form):
    pickup_code = forms.RegexField(
        label=_("Pickup code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The pickup code has six digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 6}),
    )
    # Pay on pickup: the staff ticks that the amount due was taken, in the same step as the hand-over.
    payment_taken = forms.BooleanField(label=_("Payment received"), required=False)
