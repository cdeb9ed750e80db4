"""The platform's gRPC API subset (viam.app.v1.AppService and proto.rpc.v1.AuthService), served by grpclib.

Always imported by its full name, ``fleetadmin.grpc``; it never shadows a top-level ``grpc``
package because nothing in the project uses implicit relative imports.
"""
