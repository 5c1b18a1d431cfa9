"""Forms for the HTTP pages."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from chat.models import ROOM_NAME_MAX_LENGTH, room_name_validator
from chat.usernames import validate_username


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = _("Letters (accents are fine), digits, and . _ -")

    def clean_username(self):
        username = super().clean_username()
        if username is None:  # Django already refused it: taken, in the same or another case
            return username
        validate_username(username)
        return username


class RoomForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=ROOM_NAME_MAX_LENGTH,
        validators=[room_name_validator],
        help_text=_("Letters, digits, hyphens and underscores; it becomes the room's address."),
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_private = forms.BooleanField(label=_("Private (members only, by invitation)"), required=False)


class InviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)

    def clean_username(self):
        username = self.cleaned_data["username"]
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise forms.ValidationError(_("No user with that name."))
        return user
