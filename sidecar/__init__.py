"""Parley sidecar: conversations for game NPCs, served over msgpack + ZeroMQ."""

from sidecar.protocol.codes import PROTOCOL_VERSION

__version__ = "0.1.0"

__all__ = ["PROTOCOL_VERSION", "__version__"]
