"""``manage.py serve_grpc``: the platform's gRPC API, a process of its own beside the web server."""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand, CommandError
from grpclib.utils import graceful_exit

from fleetadmin.grpc.adapters import LIST_KEYS_LIMIT
from fleetadmin.grpc.server import build_server, tls_context


class Command(BaseCommand):
    help = (
        "Serve the platform's gRPC API subset (viam.app.v1.AppService, proto.rpc.v1.AuthService) "
        "so scripts written for the platform's Python SDK run against fleetadmin."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8443, help="0 picks a free port (printed on start)")
        parser.add_argument("--tls-cert", default="", help="PEM certificate chain; with --tls-key, serve TLS")
        parser.add_argument("--tls-key", default="", help="PEM private key")
        parser.add_argument(
            "--portal-url",
            default="http://127.0.0.1:8000",
            help="the web portal's base URL, for the logo and billing-dashboard URLs in responses",
        )
        parser.add_argument("--workers", type=int, default=8, help="threads running the ORM calls")
        parser.add_argument(
            "--list-keys-limit",
            type=int,
            default=LIST_KEYS_LIMIT,
            help="most keys one ListKeys answers (newest first; the platform's message has no page token)",
        )

    def handle(self, *args, **options):
        if bool(options["tls_cert"]) != bool(options["tls_key"]):
            raise CommandError("--tls-cert and --tls-key go together.")
        if options["list_keys_limit"] < 1:
            raise CommandError("--list-keys-limit must be at least 1.")
        ssl = tls_context(options["tls_cert"], options["tls_key"]) if options["tls_cert"] else None
        asyncio.run(self._serve(options, ssl))

    async def _serve(self, options, ssl) -> None:
        server = build_server(
            portal_url=options["portal_url"], workers=options["workers"], list_keys_limit=options["list_keys_limit"]
        )
        with graceful_exit([server]):
            await server.start(options["host"], options["port"], ssl=ssl)
            host, port = server._server.sockets[0].getsockname()[:2]
            scheme = "TLS" if ssl else "plaintext"
            self.stdout.write(f"serve_grpc: listening on {host}:{port} ({scheme})", ending="\n")
            self.stdout.flush()
            await server.wait_closed()
