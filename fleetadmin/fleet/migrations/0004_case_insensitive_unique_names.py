"""Sibling names unique whatever their case, in the database as in the services.

Before this migration the services refused "line a" beside "Line A" but the database did not, so
two concurrent requests could create both. Rows like that may exist. A unique index cannot be
built over them, and renaming a customer's locations or machines behind their back is not ours to
do, so the first operation looks for them and, if there are any, stops the migration with a list
of every clash and what to do; nothing has changed then (the migration is one transaction). With
no clash it swaps the case-sensitive constraints for case-insensitive ones.
"""

from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import Lower


class CaseInsensitiveDuplicateNames(CommandError):
    """Raised (as a CommandError, so `manage.py migrate` prints the report without a traceback)."""


def _clashing_groups(model, group_fields):
    """Each set of rows whose names are equal once lower-cased, within the same ``group_fields``."""
    keys = (
        model.objects.values(*group_fields, lowered=Lower("name"))
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
        .order_by(*group_fields, "lowered")
    )
    for key in keys:
        match = {field: key[field] for field in group_fields}
        rows = model.objects.filter(**match).annotate(lowered=Lower("name")).filter(lowered=key["lowered"])
        yield list(rows.order_by("name", "id"))


def _organization_label(organization):
    return f"organization “{organization.name}” ({organization.pk})"


def _names(rows):
    return ", ".join(f"“{row.name}” ({row.pk})" for row in rows)


def duplicate_name_report(apps) -> list[str]:
    """One line per clash: where, the clashing names with their ids."""
    Location = apps.get_model("fleet", "Location")
    Machine = apps.get_model("fleet", "Machine")
    lines = []
    for rows in _clashing_groups(Location, ["organization", "parent"]):
        first = rows[0]
        where = f"under location “{first.parent.name}” ({first.parent_id})" if first.parent_id else "at the top level"
        lines.append(f"- locations {_names(rows)} in {_organization_label(first.organization)}, {where}")
    for rows in _clashing_groups(Machine, ["location"]):
        first = rows[0]
        lines.append(
            f"- machines {_names(rows)} in {_organization_label(first.organization)}, "
            f"in location “{first.location.name}” ({first.location_id})"
        )
    return lines


def refuse_duplicate_names(apps, schema_editor):
    lines = duplicate_name_report(apps)
    if not lines:
        return
    raise CaseInsensitiveDuplicateNames(
        f"fleet.0004 stopped, nothing was changed: {len(lines)} group(s) of sibling names differ only in case, "
        "and names must now be unique whatever their case:\n"
        + "\n".join(lines)
        + "\nRename all but one in each group (in the portal, the API or the CLI), then run migrate again."
    )


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0003_merge_20261203_0556"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicate_names, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="location", name="fleet_location_unique_root_name"),
        migrations.RemoveConstraint(model_name="location", name="fleet_location_unique_child_name"),
        migrations.RemoveConstraint(model_name="machine", name="fleet_machine_unique_name"),
        migrations.AddIndex(
            model_name="location",
            index=models.Index(
                condition=Q(parent=None), fields=["organization", "name"], name="fleet_location_root_name"
            ),
        ),
        migrations.AddIndex(
            model_name="location",
            index=models.Index(fields=["parent", "name"], name="fleet_location_parent_name"),
        ),
        migrations.AddIndex(
            model_name="machine",
            index=models.Index(fields=["location", "name"], name="fleet_machine_location_name"),
        ),
        migrations.AddConstraint(
            model_name="location",
            constraint=models.UniqueConstraint(
                "organization", Lower("name"), condition=Q(parent=None), name="fleet_location_unique_root_name_ci"
            ),
        ),
        migrations.AddConstraint(
            model_name="location",
            constraint=models.UniqueConstraint("parent", Lower("name"), name="fleet_location_unique_child_name_ci"),
        ),
        migrations.AddConstraint(
            model_name="machine",
            constraint=models.UniqueConstraint("location", Lower("name"), name="fleet_machine_unique_name_ci"),
        ),
    ]
