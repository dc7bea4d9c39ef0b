"""The partner's campaign form: where the words come from, the words, who gets them and when."""

from datetime import timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, Product, Promotion

from .models import Campaign
from .texts import compose

MAX_MONTHS = 36
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class CampaignForm(forms.Form):
    promotion = forms.ModelChoiceField(queryset=None, required=False, label=_("From a promotion"))
    product = forms.ModelChoiceField(queryset=None, required=False, label=_("Or from a product"))
    body = forms.CharField(
        label=_("The words"),
        max_length=Campaign._meta.get_field("body").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Left empty, the text is written from the promotion or the product."),
    )
    category = forms.ModelChoiceField(queryset=None, required=False, label=_("Only villagers who bought from"))
    months = forms.IntegerField(
        label=_("Within the last months"),
        required=False,
        min_value=1,
        max_value=MAX_MONTHS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    # ISO, whatever the language: a datetime-local input shows nothing for any other format.
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty: now. Never between 21:00 and 08:00: such a time moves to 08:00."),
    )

    def __init__(self, *args, station, **kwargs):
        super().__init__(*args, **kwargs)
        self.station = station
        now = timezone.now()
        self.fields["promotion"].queryset = (
            Promotion.objects.filter(ends_at__gt=now)
            .filter(Q(product__isnull=True) | Q(product__is_active=True))
            .select_related("product", "category")
            .order_by("ends_at", "pk")
        )
        self.fields["product"].queryset = Product.objects.filter(is_active=True).order_by("name", "pk")
        self.fields["category"].queryset = Category.objects.order_by("name", "pk")

    def clean_send_at(self):
        send_at = self.cleaned_data.get("send_at")
        if send_at is not None and send_at < timezone.now() - timedelta(minutes=5):
            raise forms.ValidationError(_("This time has passed: leave it empty to send now."))
        return send_at

    def clean(self):
        data = super().clean()
        if data.get("promotion") and data.get("product"):
            self.add_error("product", _("Choose a promotion or a product, not both."))
        body = (data.get("body") or "").strip()
        if not body and not data.get("promotion") and not data.get("product"):
            self.add_error("body", _("Write the words, or choose a promotion or a product to write them from."))
        if (
            body
            and len(compose(station_name=self.station.name, body=body)) > Campaign._meta.get_field("text").max_length
        ):
            self.add_error("body", _("The text is too long: shorten the words."))
        if data.get("months") and not data.get("category"):
            self.add_error("category", _("Choose the category the months are about."))
        return data


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=300)
