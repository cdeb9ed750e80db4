from django.apps import AppConfig


class GrpcConfig(AppConfig):
    name = "fleetadmin.grpc"
    label = "fleetadmin_grpc"  # "grpc" alone would read like the grpcio package
    verbose_name = "The platform's gRPC API"
