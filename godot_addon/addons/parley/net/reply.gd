class_name ParleyReply
extends RefCounted
## The outcome of one request: [member ok] with the op's [member result], or an [member error]
## carrying the protocol's error code. Sidecar calls always resolve to one of these, never
## raise, and always within their time limit.

const ParleyErrorScript := preload("res://addons/parley/net/error.gd")
# Its own script, for the static constructors: a class_name is not usable where the global
# class cache does not exist (export templates running a project folder).
const ReplyScript := preload("res://addons/parley/net/reply.gd")

var id: int = 0
var ok: bool = false
## The op's result map (see engine_bindings/PROTOCOL.md); empty on failure.
var result: Dictionary = {}
## Null when [member ok].
var error: ParleyErrorScript = null
## Events received for this request before the reply (e.g. "line.delta"), in order, each
## [code]{"event": String, "data": Dictionary}[/code].
var events: Array[Dictionary] = []


static func succeeded(request_id: int, data: Dictionary) -> ReplyScript:
	var reply := ReplyScript.new()
	reply.id = request_id
	reply.ok = true
	reply.result = data
	return reply


static func failed(
	request_id: int, code: StringName, message: String, details: Dictionary = {}
) -> ReplyScript:
	var reply := ReplyScript.new()
	reply.id = request_id
	reply.error = ParleyErrorScript.new(code, message, details)
	return reply


## The error code, or [code]&""[/code] when [member ok].
func error_code() -> StringName:
	return &"" if error == null else error.code


## The NPC's line of a conversation reply: [code]{"speaker", "name", "text"}[/code].
func line() -> Dictionary:
	var value: Variant = result.get("line", {})
	return value if value is Dictionary else {}


## The text of [method line], or "" (for example on failure).
func text() -> String:
	return str(line().get("text", ""))


## The answer options of a conversation reply, each [code]{"text", "intent"}[/code].
func options() -> Array[Dictionary]:
	var out: Array[Dictionary] = []
	var value: Variant = result.get("options", [])
	if value is Array:
		for item: Variant in value:
			if item is Dictionary:
				out.append(item)
	return out


func _to_string() -> String:
	if ok:
		return "ParleyReply(#%d ok %s)" % [id, result]
	return "ParleyReply(#%d %s)" % [id, error]
