from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from charla.chat.usernames import validate_username
from charla.conf import charla_settings
from charla.notifications import services
from charla.notifications.models import Announcement, Notification


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Adding an announcement here sends it; the list shows how many have read each one."""

    list_display = ["title", "priority", "author", "created", "read_count", "delivery_count"]
    readonly_fields = ["author", "created"]
    actions = ["send_again_to_unread"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        sent = services.announce(obj.title, obj.message, priority=obj.priority, author=request.user)
        obj.pk, obj.created, obj.author = sent.pk, sent.created, sent.author

    @admin.display(description=_("read"))
    def read_count(self, obj):
        return obj.deliveries.filter(read_at__isnull=False).count()

    @admin.display(description=_("recipients"))
    def delivery_count(self, obj):
        return obj.deliveries.count()

    @admin.action(description=_("Remind those who have not read it (as a personal notification)"))
    def send_again_to_unread(self, request, queryset):
        reminded = 0
        for announcement in queryset:
            for delivery in announcement.deliveries.filter(read_at__isnull=True).select_related("recipient"):
                services.notify_user(
                    delivery.recipient,
                    announcement.title,
                    announcement.message,
                    url=reverse("charla:notification_list"),
                )
                reminded += 1
        self.message_user(request, _("%(n)d reminders sent.") % {"n": reminded}, messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "kind", "title", "created", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "message", "recipient__username"]
    raw_id_fields = ["recipient", "announcement", "room", "chat_message"]


class _UsernameChecked:
    """Refuses, as a form error, the names Charla's signup refuses (the save would refuse them with a 500)."""

    def clean_username(self):
        clean = getattr(super(), "clean_username", None)  # the creation form's: no name differing only in case
        username = clean() if clean else self.cleaned_data.get("username")
        if username is not None and username != self.instance.get_username():
            validate_username(username, exclude_pk=self.instance.pk)
        return username


class CharlaUserCreationForm(_UsernameChecked, AdminUserCreationForm):
    pass


class CharlaUserChangeForm(_UsernameChecked, UserChangeForm):
    pass


class CharlaUserAdmin(UserAdmin):
    add_form = CharlaUserCreationForm
    form = CharlaUserChangeForm


# Django's own user admin, with Charla's username rules. A host's custom user model keeps
# its admin (and a host that registered its own for auth.User after Charla's apps keeps it).
if (
    charla_settings.USERNAME_RULES
    and get_user_model() is User
    and admin.site.is_registered(User)
    and type(admin.site.get_model_admin(User)) is UserAdmin
):
    admin.site.unregister(User)
    admin.site.register(User, CharlaUserAdmin)
