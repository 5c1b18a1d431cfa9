from django.contrib import admin

from chat.models import Membership, Message, Room


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
    list_display = ["room", "seq", "author", "short_content", "sent", "edited", "deleted"]
    list_filter = ["edited", "deleted", "room"]
    search_fields = ["content", "author__username"]
    raw_id_fields = ["room", "author"]
    readonly_fields = ["seq", "updated_seq", "client_id"]

    @admin.display(description="content")
    def short_content(self, obj):
        return obj.content[:80]
