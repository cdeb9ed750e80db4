from django.contrib import admin

from fleetadmin.core.admin import ReadOnlyAdmin
from fleetadmin.fleet.models import Location, Machine, Membership, Organization


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["name", "=id"]


@admin.register(Location)
class LocationAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "parent", "id"]
    search_fields = ["name", "=id"]
    list_select_related = ["organization", "parent"]
    raw_id_fields = ["organization", "parent"]


@admin.register(Machine)
class MachineAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "location", "id"]
    search_fields = ["name", "=id"]
    list_select_related = ["organization", "location"]
    raw_id_fields = ["organization", "location"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "location", "role"]
    list_select_related = ["user", "organization", "location"]
    raw_id_fields = ["user", "organization", "location"]
