"""The grpclib server: the SDK's generated service bases, with each RPC run off the event loop.

Every call is decoded on the event loop, then run in a worker thread (the ORM is synchronous):
the request context (request id, peer address, user agent) is bound for ``audit.record``, the
bearer token is turned back into the key's principal, the adapter runs, and any exception is
mapped to a gRPC status by ``fleetadmin.grpc.errors``. Database connections are managed per
call as Django does per request.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpclib.const
import grpclib.server
from django.db import close_old_connections
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from viam.proto.app import UnimplementedAppServiceBase
from viam.proto.rpc.auth import AuthenticateResponse, UnimplementedAuthServiceBase

from fleetadmin.audit.context import RequestContext, bind_request_context
from fleetadmin.grpc import access
from fleetadmin.grpc.adapters import LIST_KEYS_LIMIT, SERVED, Adapters
from fleetadmin.grpc.errors import to_grpc_error

REQUEST_ID_METADATA = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # the same rule as the web's RequestIdMiddleware


def _context(stream: grpclib.server.Stream) -> RequestContext:
    metadata = stream.metadata or {}
    incoming = str(metadata.get(REQUEST_ID_METADATA, ""))
    peer = stream.peer.addr() if stream.peer else None
    return RequestContext(
        request_id=incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex,
        ip=peer[0] if peer else None,
        user_agent=str(metadata.get("user-agent", ""))[:400],
    )


def _in_request(context: RequestContext, method: str, work: Callable[[], object]):
    """Run ``work`` as Django runs a request: fresh connections, the context bound, errors mapped."""
    close_old_connections()
    try:
        with bind_request_context(context):
            return work()
    except Exception as error:
        raise to_grpc_error(error, method) from None
    finally:
        close_old_connections()


class _Calls:
    def __init__(self, executor: ThreadPoolExecutor):
        self.executor = executor

    async def unary(self, stream: grpclib.server.Stream, method: str, work: Callable[[object, RequestContext], object]):
        request = await stream.recv_message()
        context = _context(stream)
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(
            self.executor, _in_request, context, method, functools.partial(work, request, context)
        )
        await stream.send_initial_metadata(metadata={REQUEST_ID_METADATA: context.request_id})
        await stream.send_message(response)


class AuthService(UnimplementedAuthServiceBase):
    """``proto.rpc.v1.AuthService``: an API key id and value in, an access token out."""

    def __init__(self, calls: _Calls):
        self.calls = calls

    async def Authenticate(self, stream: grpclib.server.Stream) -> None:
        def work(request, context):
            credentials = request.credentials
            _, token = access.authenticate(request.entity, credentials.type, credentials.payload)
            return AuthenticateResponse(access_token=token)

        await self.calls.unary(stream, "Authenticate", work)


class AppService(UnimplementedAppServiceBase):
    """``viam.app.v1.AppService``: the RPCs in ``adapters.SERVED``; any other is UNIMPLEMENTED, by name."""

    def __init__(self, calls: _Calls, adapters: Adapters):
        self.calls = calls
        self.adapters = adapters

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        mapping = {}
        for path, handler in super().__mapping__().items():
            method = path.rsplit("/", 1)[-1]
            serve = self._served(method) if method in SERVED else self._unimplemented(method)
            mapping[path] = grpclib.const.Handler(serve, handler.cardinality, handler.request_type, handler.reply_type)
        return mapping

    def _served(self, method: str):
        adapter = getattr(self.adapters, method)

        async def serve(stream: grpclib.server.Stream) -> None:
            authorization = str((stream.metadata or {}).get("authorization", ""))

            def work(request, context):
                return adapter(access.principal_for_token(authorization), request)

            await self.calls.unary(stream, method, work)

        return serve

    @staticmethod
    def _unimplemented(method: str):
        async def refuse(stream: grpclib.server.Stream) -> None:
            raise GRPCError(
                Status.UNIMPLEMENTED,
                f"fleetadmin does not implement viam.app.v1.AppService/{method} "
                "(it serves the organization, location, machine, API-key, auth-service, OAuth-app and "
                "billing-service calls; see the README).",
            )

        return refuse


def build_server(*, portal_url: str, workers: int = 8, list_keys_limit: int = LIST_KEYS_LIMIT) -> grpclib.server.Server:
    calls = _Calls(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleetadmin-grpc"))
    adapters = Adapters(portal_url, list_keys_limit=list_keys_limit)
    return grpclib.server.Server([AuthService(calls), AppService(calls, adapters)])


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2"])
    return context
