"""The one error tree of the sidecar.

    ParleyError                      code
    ├── BadRequest                   bad_request
    ├── UnknownOp                    unknown_op
    ├── TooLarge                     too_large
    ├── PersonaNotFound              persona_not_found
    ├── PersonaInvalid               persona_invalid
    ├── ConversationNotFound         conversation_not_found
    ├── ConversationEnded            conversation_ended
    ├── GoalNotFound                 goal_not_found
    ├── MemoryNotFound               memory_not_found
    ├── Busy                         busy
    ├── Cancelled                    cancelled
    ├── ProviderError                provider_error      (one provider failed; the router may fall through)
    │   ├── ProviderUnavailable      provider_unavailable (no provider in the chain could answer)
    │   ├── ProviderAuth             provider_auth       (401/403/404: bad key or model; not retried)
    │   ├── ProviderRateLimited      provider_rate_limited (429; retried, honours Retry-After)
    │   ├── ProviderTimeout          provider_timeout
    │   ├── ProviderOverloaded       provider_overloaded (5xx/529)
    │   ├── ProviderRefused          provider_refused    (refusal / content filter)
    │   └── ProviderBadReply         provider_bad_reply  (empty, malformed or broken stream)
    ├── BudgetExceeded               budget_exceeded
    ├── ConfigError                  config_error
    ├── StoreError                   store_error
    ├── Internal                     internal
    ├── ActionNotFound               action_not_found    (no decided action with that id)
    ├── SlotNotFound                 slot_not_found      (no save slot of that name)
    ├── SceneNotFound                scene_not_found     (no scene with that id)
    └── PersonaNotInScene            persona_not_in_scene (leaving, or speaking in, a scene it is not in)

Codes are a wire contract (`ErrorCode`, in sidecar/protocol/codes.py with the rest of the
protocol): a code is never renamed or reused. Only `server/` turns these
into error frames; anything that is not a ParleyError becomes `internal` there, with the
traceback kept in the log and never sent to the game.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sidecar.protocol.codes import ErrorCode as ErrorCode  # re-exported: the tree and its codes in one import


class ParleyError(Exception):
    """Base of every error the sidecar reports on purpose.

    `message` is safe to show a game developer; `details` is a small JSON-able map
    (never a traceback, never a key, never player text above what the request carried).
    """

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(ParleyError):
    code = ErrorCode.BAD_REQUEST


class UnknownOp(ParleyError):
    code = ErrorCode.UNKNOWN_OP


class TooLarge(ParleyError):
    code = ErrorCode.TOO_LARGE


class PersonaNotFound(ParleyError):
    code = ErrorCode.PERSONA_NOT_FOUND


class PersonaInvalid(ParleyError):
    code = ErrorCode.PERSONA_INVALID


class ConversationNotFound(ParleyError):
    code = ErrorCode.CONVERSATION_NOT_FOUND


class ConversationEnded(ParleyError):
    code = ErrorCode.CONVERSATION_ENDED


class GoalNotFound(ParleyError):
    code = ErrorCode.GOAL_NOT_FOUND


class MemoryNotFound(ParleyError):
    code = ErrorCode.MEMORY_NOT_FOUND


class Busy(ParleyError):
    code = ErrorCode.BUSY


class Cancelled(ParleyError):
    code = ErrorCode.CANCELLED


class ProviderError(ParleyError):
    """One provider failed. `provider` is its config name; `retryable` tells the router
    whether the same provider may be tried again after a backoff."""

    code = ErrorCode.PROVIDER_ERROR
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}", details={"provider": provider, **(details or {})})
        self.provider = provider
        self.reason = message
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    code = ErrorCode.PROVIDER_UNAVAILABLE


class ProviderAuth(ProviderError):
    code = ErrorCode.PROVIDER_AUTH


class ProviderRateLimited(ProviderError):
    code = ErrorCode.PROVIDER_RATE_LIMITED
    retryable = True


class ProviderTimeout(ProviderError):
    code = ErrorCode.PROVIDER_TIMEOUT
    retryable = True


class ProviderOverloaded(ProviderError):
    code = ErrorCode.PROVIDER_OVERLOADED
    retryable = True


class ProviderRefused(ProviderError):
    code = ErrorCode.PROVIDER_REFUSED


class ProviderBadReply(ProviderError):
    code = ErrorCode.PROVIDER_BAD_REPLY


class BudgetExceeded(ParleyError):
    code = ErrorCode.BUDGET_EXCEEDED


class ConfigError(ParleyError):
    code = ErrorCode.CONFIG_ERROR


class StoreError(ParleyError):
    code = ErrorCode.STORE_ERROR


class Internal(ParleyError):
    code = ErrorCode.INTERNAL


class ActionNotFound(ParleyError):
    code = ErrorCode.ACTION_NOT_FOUND


class SlotNotFound(ParleyError):
    code = ErrorCode.SLOT_NOT_FOUND


class SceneNotFound(ParleyError):
    code = ErrorCode.SCENE_NOT_FOUND


class PersonaNotInScene(ParleyError):
    code = ErrorCode.PERSONA_NOT_IN_SCENE


__all__ = [name for name in dir() if name[0].isupper()]
