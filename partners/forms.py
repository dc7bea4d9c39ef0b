from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .models import Villager
from .phones import ChinaPhoneField


class VillagerForm(forms.ModelForm):
    phone = ChinaPhoneField(
        label=_("Phone"),
        required=False,
        help_text=_("Optional. A mainland China number, such as 138 1234 5678."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    code_phone = ChinaPhoneField(
        label=_("Family member's phone for codes"),
        required=False,
        help_text=_(
            "Optional. When the villager has no phone of their own, or wants a son or daughter to get the codes."
        ),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    class Meta:
        model = Villager
        fields = [
            "name",
            "phone",
            "code_phone",
            "code_phone_holder",
            "sms_consent",
            "marketing_consent",
            "address",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "marketing_consent": _(
                "Asked separately from SMS about orders, and only if the villager says yes. They can reply TD to stop."
            )
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter the villager's name."))
        return name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sms_consent") and not (cleaned.get("phone") or cleaned.get("code_phone")):
            self.add_error("sms_consent", _("SMS needs a phone number."))
        if cleaned.get("marketing_consent") and not (cleaned.get("phone") or cleaned.get("code_phone")):
            self.add_error("marketing_consent", _("SMS needs a phone number."))
        if cleaned.get("code_phone") and not (cleaned.get("code_phone_holder") or "").strip():
            self.add_error("code_phone_holder", _("Say whose phone it is, such as 儿子 (son)."))
        return cleaned


class VillagerSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or phone"), required=False, max_length=50)


class _UsernameLengthChecked:
    """Django's login forms set the username's max_length after building the field, so no validator checks it:
    a 10,000-character username went on to authenticate() and into axes' failure record (varchar 255),
    a 500 on PostgreSQL.  This adds the check, so such a username is a form error.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class LoginForm(_UsernameLengthChecked, AuthenticationForm):
    """The partner pages' login form."""


class AdminLoginForm(_UsernameLengthChecked, AdminAuthenticationForm):
    """The admin's login form."""
