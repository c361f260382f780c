"""Wire protocol v1: envelopes, op models (`ops.OPS`), error codes, msgpack framing.

Op models of a topic live in their own module and register into `ops.OPS` on import; they
are imported here, so whoever imports any part of the protocol sees every op.
"""

from sidecar.protocol import actions as actions
from sidecar.protocol import history as history
from sidecar.protocol import memory as memory
from sidecar.protocol import saves as saves
from sidecar.protocol import scenes as scenes
