"""Parley sidecar: conversations for game NPCs, served over msgpack + ZeroMQ."""

__version__ = "0.1.0"
PROTOCOL_VERSION = 1

__all__ = ["PROTOCOL_VERSION", "__version__"]
