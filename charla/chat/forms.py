"""Forms for the HTTP pages."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from charla.chat.models import ROOM_NAME_MAX_LENGTH, Membership, Profile, room_name_validator


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


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)
    theme = forms.ChoiceField(label=_("Theme"), choices=Profile.Theme.choices)
    desktop_notifications = forms.BooleanField(
        label=_("Desktop notifications"),
        required=False,
        help_text=_("Mentions and announcements as notifications of your device, once your browser allows them."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Same as my browser")), *settings.LANGUAGES]


class RoomsNotifyForm(forms.Form):
    """One choice per room of the person: what of it reaches them."""

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = list(memberships)
        for membership in self.memberships:
            self.fields[f"room-{membership.room_id}"] = forms.ChoiceField(
                label=f"#{membership.room.name}", choices=Membership.Notify.choices, initial=membership.notify
            )

    def levels(self) -> dict[int, str]:
        return {m.room_id: self.cleaned_data[f"room-{m.room_id}"] for m in self.memberships}
