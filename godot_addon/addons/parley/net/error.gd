class_name ParleyError
extends RefCounted
## A failed request: the protocol's error code (engine_bindings/PROTOCOL.md, e.g.
## [code]persona_not_found[/code], [code]bad_request[/code]) or one of the client's own codes
## below, a message fit to show a game developer, and optional details.

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

var code: StringName = &""
var message: String = ""
var details: Dictionary = {}


func _init(error_code: StringName = &"", error_message: String = "", info: Dictionary = {}) -> void:
	code = error_code
	message = error_message
	details = info


func _to_string() -> String:
	return "%s: %s" % [code, message]
