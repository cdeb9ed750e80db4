"""Check a downloaded audit export: exit 1 unless it ends with its trailer and the count and SHA-256 match."""

from django.core.management.base import BaseCommand, CommandError

from fleetadmin.audit.export import verify_export


class Command(BaseCommand):
    help = "Check that an audit export file (CSV or JSON lines) arrived complete and unaltered."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the downloaded .csv or .jsonl file")

    def handle(self, *args, path, **options):
        try:
            with open(path, "rb") as file:
                result = verify_export(file)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        if not result.ok:
            raise CommandError(f"{path}: {result.message}", returncode=1)
        self.stdout.write(f"{path}: {result.message}")
