from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from logistics import photos

from .models import ProduceKind


class LotForm(forms.Form):
    villager = forms.ModelChoiceField(queryset=None, label=_("Villager"))
    kind = forms.ModelChoiceField(queryset=None, label=_("Kind"))
    quantity = forms.CharField(
        label=_("Quantity"), max_length=12, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    grade = forms.CharField(label=_("Grade claimed"), max_length=20, widget=forms.TextInput(attrs={"list": "grades"}))
    price_asked = forms.CharField(
        label=_("Price asked (¥ per unit)"), max_length=12, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    # ISO, whatever the language: a date input shows nothing for any other format.
    ready_on = forms.DateField(label=_("Ready on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    certificate_no = forms.CharField(
        label=_("Quarantine certificate"),
        max_length=40,
        required=False,
        help_text=_("Live animals and meat: the number on the certificate."),
    )
    photo = forms.FileField(
        label=_("Photo of the lot"),
        required=False,
        help_text=_("Optional: one picture, which the county sees."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}),
    )

    def __init__(self, *args, station, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["villager"].queryset = station.villagers.order_by("name")
        kinds = ProduceKind.objects.filter(county_id=station.village.county_id, is_active=True)
        self.fields["kind"].queryset = kinds
        # The unit in the choice itself (the quantity and the price are per unit), the grades right under it.
        self.fields["kind"].label_from_instance = lambda kind: f"{kind.display_name} ({kind.get_unit_display()})"
        self.fields["kind"].help_text = "; ".join(
            f"{kind.display_name}: {','.join(label for _grade, label in kind.grade_choices())}"
            + (f" · {gettext('certificate needed')}" if kind.needs_certificate else "")
            for kind in kinds
        )
        self.fields["ready_on"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        if data.get("kind") and data.get("grade"):
            # Typed as shown (in English, "Grade 1"): the grade as the kind stores it.
            data["grade"] = data["kind"].stored_grade(data["grade"])
        return data

    def clean_photo(self):
        """The upload read and re-encoded now (``logistics.photos.process_photo``): a file that is not a photo is a
        form error, and nothing is listed."""
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return photos.process_photo(upload)
        except photos.PhotoError as exc:
            raise ValidationError(str(exc)) from None
