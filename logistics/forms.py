"""The county warehouse's forms: finding a pickup by its label, counting its goods in."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import GoodsReturn, GoodsReturnLine

LABEL = re.compile(r"^[BL][-0-9]{1,39}$")  # logistics.converters.PickupLabelConverter


class FindPickupForm(forms.Form):
    """The scan box: a scanner types the label and presses Enter (a plain GET, no script needed)."""

    label = forms.CharField(label=_("Scan or type a label"), max_length=40)

    def clean_label(self) -> str:
        label = self.cleaned_data["label"].strip().upper()
        if not LABEL.match(label):
            raise forms.ValidationError(_("A pickup label is B or L and digits, such as B123, B123-2 or L45."))
        return label


class ReceivePickupForm(forms.Form):
    """Per line of the goods: units sellable and units damaged (the rest did not arrive); a note.

    Defaults: everything sellable, or everything damaged for a damaged parcel's goods.
    """

    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, goods: GoodsReturn, lines: list[GoodsReturnLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        damaged = goods.kind == GoodsReturn.Kind.DAMAGED
        self.rows = []
        for line in lines:
            sellable_name, damaged_name = f"sellable-{line.pk}", f"damaged-{line.pk}"
            self.fields[sellable_name] = forms.IntegerField(
                label=_("sellable"), min_value=0, max_value=line.quantity, initial=0 if damaged else line.quantity
            )
            self.fields[damaged_name] = forms.IntegerField(
                label=_("damaged"), min_value=0, max_value=line.quantity, initial=line.quantity if damaged else 0
            )
            self.rows.append((line, self[sellable_name], self[damaged_name]))
        self.order_fields([name for line in lines for name in (f"sellable-{line.pk}", f"damaged-{line.pk}")])

    def clean(self):
        data = super().clean()
        for line in self.lines:
            sellable, damaged = data.get(f"sellable-{line.pk}"), data.get(f"damaged-{line.pk}")
            if sellable is not None and damaged is not None and sellable + damaged > line.quantity:
                self.add_error(
                    f"damaged-{line.pk}",
                    _("%(quantity)s units came back: sellable and damaged together are at most that.")
                    % {"quantity": line.quantity},
                )
        return data

    def counts(self) -> dict[int, tuple[int, int]]:
        """{goods return line id: (sellable, damaged)}, for ``pickups.receive``."""
        data = self.cleaned_data
        return {line.pk: (data[f"sellable-{line.pk}"], data[f"damaged-{line.pk}"]) for line in self.lines}
