from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from notifications import services
from notifications.models import Announcement, Notification


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
        sent = services.announce(obj.title, obj.message, obj.priority, author=request.user)
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
                    delivery.recipient, announcement.title, announcement.message, url="/notifications/"
                )
                reminded += 1
        self.message_user(request, _("%(n)d reminders sent.") % {"n": reminded}, messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "kind", "title", "created", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "message", "recipient__username"]
    raw_id_fields = ["recipient", "announcement", "room", "chat_message"]
