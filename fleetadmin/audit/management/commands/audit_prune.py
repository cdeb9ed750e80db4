"""Remove audit events older than a date, keeping every chain verifiable (the only delete path)."""

import uuid
from datetime import UTC, date, datetime, time

from django.core.management.base import BaseCommand, CommandError

from fleetadmin.audit.integrity import audit_prune, organizations_with_events


class Command(BaseCommand):
    help = "Remove audit events recorded before --before (YYYY-MM-DD, UTC), for all organizations or one."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="date YYYY-MM-DD; events before its start are removed")
        parser.add_argument("--org", help="organization id")

    def handle(self, *args, before, org=None, **options):
        try:
            cutoff = datetime.combine(date.fromisoformat(before), time.min, tzinfo=UTC)
        except ValueError:
            raise CommandError(f"--before must be a date YYYY-MM-DD; got {before!r}.") from None
        if org:
            try:
                organization_ids = [uuid.UUID(org)]
            except ValueError:
                raise CommandError(f"--org must be an organization id (a UUID); got {org!r}.") from None
        else:
            organization_ids = organizations_with_events()
        total = 0
        for organization_id in organization_ids:
            removed = audit_prune(before=cutoff, organization_id=organization_id)
            if removed:
                self.stdout.write(f"organization {organization_id}: removed {removed} events")
            total += removed
        self.stdout.write(f"audit_prune: removed {total} events recorded before {cutoff:%Y-%m-%d}.")
