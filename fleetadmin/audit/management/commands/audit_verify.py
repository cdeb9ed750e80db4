"""Walk the audit hash chains; exit 1 at the first event whose content or link does not match."""

import sys
import uuid

from django.core.management.base import BaseCommand, CommandError

from fleetadmin.audit.integrity import organizations_with_events, run_chain_verification
from fleetadmin.core.actors import SYSTEM


class Command(BaseCommand):
    help = "Verify the audit log's hash chains (all organizations, or one with --org)."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organization id")

    def handle(self, *args, org=None, **options):
        if org:
            try:
                organization_ids = [uuid.UUID(org)]
            except ValueError:
                raise CommandError(f"--org must be an organization id (a UUID); got {org!r}.") from None
        else:
            organization_ids = organizations_with_events()
        total, failures = 0, 0
        for organization_id in organization_ids:
            result = run_chain_verification(actor=SYSTEM, organization_id=organization_id)
            total += result.events_checked
            if not result.ok:
                failures += 1
                self.stderr.write(f"organization {organization_id}: FAILED: {result.message}")
        if failures:
            self.stderr.write(f"audit_verify: {failures} chain(s) failed; {total} events verified before the failures.")
            sys.exit(1)
        self.stdout.write(f"audit_verify: OK, verified {total} events in {len(organization_ids)} chain(s).")
