"""The protocol's version and its error codes: wire contracts that the rest of the sidecar
imports from here (sidecar/errors.py builds its exception tree on `ErrorCode`), so
`sidecar/protocol/` depends on nothing else of the sidecar.

A code is never renamed or reused; a new one is added at the end.
"""

from __future__ import annotations

from enum import StrEnum

PROTOCOL_VERSION = 1


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNKNOWN_OP = "unknown_op"
    TOO_LARGE = "too_large"
    PERSONA_NOT_FOUND = "persona_not_found"
    PERSONA_INVALID = "persona_invalid"
    CONVERSATION_NOT_FOUND = "conversation_not_found"
    CONVERSATION_ENDED = "conversation_ended"
    GOAL_NOT_FOUND = "goal_not_found"
    BUSY = "busy"
    CANCELLED = "cancelled"
    PROVIDER_ERROR = "provider_error"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_AUTH = "provider_auth"
    PROVIDER_RATE_LIMITED = "provider_rate_limited"
    PROVIDER_TIMEOUT = "provider_timeout"
    PROVIDER_OVERLOADED = "provider_overloaded"
    PROVIDER_REFUSED = "provider_refused"
    PROVIDER_BAD_REPLY = "provider_bad_reply"
    BUDGET_EXCEEDED = "budget_exceeded"
    CONFIG_ERROR = "config_error"
    STORE_ERROR = "store_error"
    INTERNAL = "internal"
    ACTION_NOT_FOUND = "action_not_found"
    MEMORY_NOT_FOUND = "memory_not_found"
    SLOT_NOT_FOUND = "slot_not_found"
    SCENE_NOT_FOUND = "scene_not_found"
    PERSONA_NOT_IN_SCENE = "persona_not_in_scene"


__all__ = ["PROTOCOL_VERSION", "ErrorCode"]
