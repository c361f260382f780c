"""msgpack framing: one ZeroMQ frame = one msgpack map (engine_bindings/PROTOCOL.md §Frames)."""

from __future__ import annotations

from typing import Any

import msgpack

MAX_FRAME_BYTES = 256 * 1024
"""The socket's ZMQ_MAXMSGSIZE. libzmq drops the connection of a peer that sends a bigger
frame (the peer reconnects); the largest legal request (a 2,000-character line of 4-byte
UTF-8 plus envelope) is under 9 KiB, so this leaves room without letting a client make the
sidecar buffer megabytes."""


class FrameError(ValueError):
    """The bytes are not one well-formed msgpack value: the frame is dropped and logged."""


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]


def _no_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack ext type {code} is not part of the protocol")


def unpack(frame: bytes) -> Any:
    """Decode one frame. Raises FrameError for truncated, trailing or invalid bytes."""
    try:
        return msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=False,
            ext_hook=_no_ext,
        )
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as exc:
        raise FrameError(str(exc) or f"invalid msgpack ({type(exc).__name__})") from exc
    except Exception as exc:  # msgpack raises a few other types on hostile input
        raise FrameError(f"{type(exc).__name__}: {exc}") from exc


__all__ = ["MAX_FRAME_BYTES", "FrameError", "pack", "unpack"]
