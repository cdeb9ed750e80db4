from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fleetadmin.oauth import signing


class Command(BaseCommand):
    help = (
        "Add a new id_token signing key to OIDC_SIGNING_KEYS_FILE. The previous key stays in the JWKS "
        "until tokens signed with it have expired; keys retired longer ago are dropped."
    )

    def handle(self, *args, **options):
        if settings.OIDC_RSA_PRIVATE_KEY:
            raise CommandError(
                "OIDC_RSA_PRIVATE_KEY is set, so keys come from the environment; rotate there, or use "
                "OIDC_SIGNING_KEYS_FILE to let this command keep the key set."
            )
        if not settings.OIDC_SIGNING_KEYS_FILE:
            raise CommandError("Set OIDC_SIGNING_KEYS_FILE to the key set this command should keep.")
        current, previous = signing.rotate(Path(settings.OIDC_SIGNING_KEYS_FILE))
        self.stdout.write(f"current key {current}; still published: {', '.join(previous) or 'none'}")
