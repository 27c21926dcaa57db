"""WuffChat's grpc.aio server: configuration, assembly, services and storage."""
