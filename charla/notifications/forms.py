from django import forms
from django.utils.translation import gettext_lazy as _

from charla.notifications.models import Priority
from charla.notifications.protocol import PRIORITY_FROM_WIRE


class AnnouncementForm(forms.Form):
    titulo = forms.CharField(label=_("Title"), max_length=200)
    mensaje = forms.CharField(label=_("Message"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    prioridad = forms.ChoiceField(
        label=_("Priority"),
        choices=[("alta", _("high")), ("normal", _("normal")), ("baja", _("low"))],
        initial="normal",
        required=False,
    )

    def clean_prioridad(self):
        return PRIORITY_FROM_WIRE.get(self.cleaned_data.get("prioridad") or "normal", Priority.NORMAL)
