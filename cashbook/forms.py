from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog import money

from .models import Remittance

MONEY = {"max_digits": 12, "decimal_places": 2}
AMOUNT_WIDGET = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
# Notes and coins a drawer holds, in yuan: a count by denomination adds up to the total.
DENOMINATIONS = ("100", "50", "20", "10", "5", "1", "0.5", "0.1")


class CloseDayForm(forms.Form):
    """The drawer counted: a total, or a count per note and coin (which makes the total)."""

    day = forms.TypedChoiceField(label=_("Day"), coerce=str)
    counted = forms.DecimalField(
        label=_("Cash counted in the drawer (¥)"), required=False, min_value=0, widget=AMOUNT_WIDGET, **MONEY
    )
    note = forms.CharField(label=_("Note (needed when the drawer is off)"), max_length=500, required=False)
    expected = forms.DecimalField(required=False, widget=forms.HiddenInput, **MONEY)

    def __init__(self, *args, days=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = [(d.isoformat(), d.isoformat()) for d in days]
        for value in DENOMINATIONS:
            self.fields[f"n_{value}"] = forms.IntegerField(
                label=f"¥{value}",
                required=False,
                min_value=0,
                max_value=100_000,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def denomination_fields(self):
        return [self[f"n_{value}"] for value in DENOMINATIONS]

    def clean(self):
        data = super().clean()
        counts = {v: data.get(f"n_{v}") for v in DENOMINATIONS if data.get(f"n_{v}")}
        by_notes = sum((Decimal(v) * n for v, n in counts.items()), Decimal("0.00"))
        if counts and data.get("counted") is None:
            data["counted"] = by_notes
        elif counts and data.get("counted") != by_notes:
            self.add_error("counted", _("The notes and coins add up to ¥%(total)s.") % {"total": by_notes})
        if data.get("counted") is None and not self.errors:
            self.add_error("counted", _("Enter the cash counted, or the notes and coins."))
        data["denominations"] = counts
        return data


class RemittanceForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Cash handed over (¥)"), min_value=Decimal("0.01"), widget=AMOUNT_WIDGET, **MONEY
    )
    slip_number = forms.CharField(label=_("Slip number"), max_length=40)
    handed_to = forms.ChoiceField(
        label=_("Handed to"),
        choices=Remittance.HandedTo.choices,
        widget=forms.RadioSelect,
        initial=Remittance.HandedTo.DRIVER,
    )
    run_code = forms.CharField(label=_("Run (if handed to a driver)"), max_length=40, required=False)
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)

    def clean_amount(self):
        return money.to_fen(self.cleaned_data["amount"])  # "300" is shown (and recorded) as ¥300.00


class ConfirmRemittanceForm(forms.Form):
    received = forms.DecimalField(label=_("Amount received (¥)"), min_value=0, widget=AMOUNT_WIDGET, **MONEY)


class FloatForm(forms.Form):
    station = forms.ChoiceField(label=_("Station"))
    amount = forms.DecimalField(
        label=_("Float (¥; negative when taken back)"), widget=AMOUNT_WIDGET, max_digits=9, decimal_places=2
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)

    def __init__(self, *args, stations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].choices = [(s.code, s.name) for s in stations]


class CreditLimitForm(forms.Form):
    station = forms.ChoiceField(label=_("Station"))
    limit = forms.DecimalField(
        label=_("Pay-on-pickup limit (¥)"), min_value=0, widget=AMOUNT_WIDGET, max_digits=12, decimal_places=2
    )

    def __init__(self, *args, stations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].choices = [(s.code, s.name) for s in stations]


class KeepCommissionForm(forms.Form):
    total = forms.DecimalField(min_value=0, **MONEY)  # the amount the confirmation page showed
