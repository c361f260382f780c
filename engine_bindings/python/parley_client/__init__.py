"""Reference Python client of the Parley wire protocol (engine_bindings/PROTOCOL.md).

The only client-side code that knows the envelope. Used by the CLI and the tests; a model
for clients in other languages.
"""

from parley_client.client import Client, Event, RemoteError, RequestTimeout
from parley_client.process import Sidecar, SidecarFailed

__all__ = ["Client", "Event", "RemoteError", "RequestTimeout", "Sidecar", "SidecarFailed"]
