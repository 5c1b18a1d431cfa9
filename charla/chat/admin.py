from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from charla.chat import services
from charla.chat.errors import ActionError
from charla.chat.models import Membership, Message, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "is_private", "creator", "created", "last_seq"]
    list_filter = ["is_private"]
    search_fields = ["name", "description"]
    raw_id_fields = ["creator"]
    inlines = [MembershipInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Messages are read here; they change only through charla.chat.services, which numbers and broadcasts
    each change."""

    list_display = ["room", "seq", "author", "short_content", "sent", "edited", "deleted"]
    list_filter = ["edited", "deleted", "room"]
    search_fields = ["content", "author__username"]
    raw_id_fields = ["room", "author"]
    readonly_fields = ["seq", "updated_seq", "client_id"]
    actions = ["delete_for_everyone"]

    @admin.display(description=_("content"))
    def short_content(self, obj):
        return obj.content[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A row removed here would vanish without an event: open pages would keep showing it.
        return False

    def has_moderate_permission(self, request):
        return request.user.has_perm("charla.delete_message")

    @admin.action(description=_("Delete the selected messages for everyone"), permissions=["moderate"])
    def delete_for_everyone(self, request, queryset):
        deleted = 0
        for message in queryset.filter(deleted=False).select_related("room").order_by("room_id", "seq"):
            try:
                services.message_delete(room=message.room, user=request.user, message_id=message.pk, moderator=True)
            except ActionError:  # deleted meanwhile
                continue
            deleted += 1
        self.message_user(
            request, ngettext("%(count)d message deleted.", "%(count)d messages deleted.", deleted) % {"count": deleted}
        )
