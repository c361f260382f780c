class_name ParleyError
extends RefCounted
## A failed request: the protocol's error code (engine_bindings/PROTOCOL.md §4) or one of
## the client's own, a message fit to show a game developer, and optional details. Match on
## [member code] with the constants below, never on the message:
##
## [codeblock]
## if reply.error_code() == ParleyError.PERSONA_NOT_FOUND:
##     push_warning("no such NPC")
## [/codeblock]
##
## Every protocol code has a constant here; tests/addon/test_error_codes.py fails when this
## file, sidecar/protocol/codes.py and PROTOCOL.md disagree.

# The protocol's codes (sidecar/protocol/codes.py), in its order.

## Not a valid request: wrong types, missing or unknown fields, bad values
## ([code]details.errors[/code] lists [code]{field, problem}[/code]).
const BAD_REQUEST := &"bad_request"
## No such op ([code]details.known[/code] lists the ops).
const UNKNOWN_OP := &"unknown_op"
## A field is longer than its limit ([code]details.field[/code], [code]details.limit[/code]).
const TOO_LARGE := &"too_large"
## No persona with that id.
const PERSONA_NOT_FOUND := &"persona_not_found"
## A persona file failed validation.
const PERSONA_INVALID := &"persona_invalid"
## No conversation with that id.
const CONVERSATION_NOT_FOUND := &"conversation_not_found"
## The conversation has ended (the farewell was said).
const CONVERSATION_ENDED := &"conversation_ended"
## No such goal.
const GOAL_NOT_FOUND := &"goal_not_found"
## Too many requests in flight, or a save loaded while a turn is in flight; retry later.
const BUSY := &"busy"
## The request was cancelled.
const CANCELLED := &"cancelled"
## One provider failed (reported in events and diagnostics).
const PROVIDER_ERROR := &"provider_error"
## No provider in the chain could answer (rare: the embedded engine is always last).
const PROVIDER_UNAVAILABLE := &"provider_unavailable"
## A provider rejected its key.
const PROVIDER_AUTH := &"provider_auth"
## A provider said "too many requests".
const PROVIDER_RATE_LIMITED := &"provider_rate_limited"
## A provider did not answer in time.
const PROVIDER_TIMEOUT := &"provider_timeout"
## A provider was overloaded.
const PROVIDER_OVERLOADED := &"provider_overloaded"
## A provider refused to answer (a content filter).
const PROVIDER_REFUSED := &"provider_refused"
## A provider's reply was empty or malformed.
const PROVIDER_BAD_REPLY := &"provider_bad_reply"
## A spending budget was reached.
const BUDGET_EXCEEDED := &"budget_exceeded"
## Bad configuration.
const CONFIG_ERROR := &"config_error"
## The database failed; nothing was stored.
const STORE_ERROR := &"store_error"
## A bug in the sidecar (details are in its log, never on the wire).
const INTERNAL := &"internal"
## No decided NPC action with that id.
const ACTION_NOT_FOUND := &"action_not_found"
## No memory with that id.
const MEMORY_NOT_FOUND := &"memory_not_found"
## No save slot of that name ([code]details.slot[/code]).
const SLOT_NOT_FOUND := &"slot_not_found"
## No scene with that id ([code]details.scene[/code]).
const SCENE_NOT_FOUND := &"scene_not_found"
## The persona is not present in the scene ([code]scene.leave[/code], a manual speaker).
const PERSONA_NOT_IN_SCENE := &"persona_not_in_scene"

# The client's own codes: failures the addon reports without a reply from the sidecar.

## The reply did not arrive within the request's time limit.
const TIMEOUT := &"timeout"
## The connection dropped after the request was sent; it may or may not have been handled.
const DISCONNECTED := &"disconnected"
## The sidecar refused the PLAIN credentials (a ZMTP ERROR command).
const AUTH_REJECTED := &"auth_rejected"
## The sidecar could not be started or kept running.
const SIDECAR_UNAVAILABLE := &"sidecar_unavailable"
## The request could not be encoded (a value with no msgpack form).
const ENCODE_FAILED := &"encode_failed"
## The client was closed while the request was pending.
const CLOSED := &"closed"
## An argument of the public API was wrong before anything was sent.
const INVALID_ARGUMENT := &"invalid_argument"

## The code: one of the constants above.
var code: StringName = &""
## What went wrong, for a developer to read (not for matching).
var message: String = ""
## More about the failure, as the protocol gives it (e.g. [code]details.errors[/code]).
var details: Dictionary = {}


func _init(error_code: StringName = &"", error_message: String = "", info: Dictionary = {}) -> void:
	code = error_code
	message = error_message
	details = info


func _to_string() -> String:
	return "%s: %s" % [code, message]
