class_name ParleyReply
extends RefCounted
## The outcome of one request: [member ok] with the op's [member result], or an [member error]
## carrying the protocol's error code. Sidecar calls always resolve to one of these, never
## raise, and always within their time limit.
##
## Conversation replies are also read into typed properties: [member line],
## [member options], [member affinity], [member goal], [member ended], [member provider].
## [member result] stays the raw map, for the ops and fields without a typed wrapper.
##
## [codeblock]
## var reply := await Parley.say("goldie", "Hello!")
## if reply.ok:
##     print(reply.line.text)
##     for option: ParleyOption in reply.options:
##         print("  ", option.index, ": ", option.text)
## elif reply.error.code == ParleyError.TIMEOUT:
##     print("no answer in time")
## [/codeblock]

const ParleyErrorScript := preload("res://addons/parley/net/error.gd")
# Its own script, for the static constructors: a class_name is not usable where the global
# class cache does not exist (export templates running a project folder).
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
const OptionScript := preload("res://addons/parley/api/option.gd")
const AffinityScript := preload("res://addons/parley/api/affinity.gd")
const GoalScript := preload("res://addons/parley/api/goal.gd")
const MemoryScript := preload("res://addons/parley/api/memory.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## The request's id (0 for a reply made by the addon without asking the sidecar).
var id: int = 0
## True when the op succeeded; then [member error] is null.
var ok: bool = false
## The op's result map (see engine_bindings/PROTOCOL.md); empty on failure. Setting it
## reads the typed properties below again.
var result: Dictionary = {}:
	set(value):
		result = value
		_read_result()
## Null when [member ok].
var error: ParleyErrorScript = null
## Events received for this request before the reply (e.g. "line.delta"), in order, each
## [code]{"event": String, "data": Dictionary}[/code].
var events: Array[Dictionary] = []
## The NPC's line ([code]result.line[/code]: greeting, answer or farewell); an empty line
## when the reply has none (for example on failure). Never null.
var line: LineScript = LineScript.new()
## The lines of a reply that has several ([code]result.lines[/code]: a scene's greetings or
## exchange, in order); empty when none.
var lines: Array[LineScript] = []
## The answer options offered with [member line] ([code]result.options[/code]), in order;
## empty when none (and after the NPC said goodbye).
var options: Array[OptionScript] = []
## The NPC's affinity for the player after this turn ([code]result.affinity[/code]); null
## when the reply carries none ([code]conversation.end[/code], failures).
var affinity: AffinityScript = null
## The conversation's goal and its progress ([code]result.goal[/code]); null when the
## conversation has no goal.
var goal: GoalScript = null
## True when the NPC said goodbye in this turn ([code]result.ended[/code]): the conversation
## is over, and [code]Parley[/code] has already forgotten it (the next say starts a new one).
var ended: bool = false
## What the NPC remembers ([code]result.memories[/code] of [method Parley.memories], or
## the one [code]result.memory[/code] of [method Parley.remember]); empty when none.
var memories: Array[MemoryScript] = []
## Who produced the line ([code]result.provider[/code]: a provider's config name, or
## [code]"embedded"[/code] for the offline engine); "" when the reply does not say.
var provider: String = ""


## A successful reply to request [param request_id] with the op's result [param data].
static func succeeded(request_id: int, data: Dictionary) -> ReplyScript:
	var reply := ReplyScript.new()
	reply.id = request_id
	reply.ok = true
	reply.result = data
	return reply


## A failed reply to request [param request_id]: [param code] is a [ParleyError] code.
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


## The text of [member line], or "" (for example on failure): a shortcut for
## [code]reply.line.text[/code].
func text() -> String:
	return line.text


func _read_result() -> void:
	line = LineScript.from_dict(Fields.map(result, "line"))
	lines = []
	for item: Dictionary in Fields.maps(result, "lines"):
		lines.append(LineScript.from_dict(item))
	options = []
	var offered: Variant = result.get("options")
	if offered is Array:
		# The index is the place in the sidecar's list, which is what choose() sends back.
		for position: int in (offered as Array).size():
			var item: Variant = offered[position]
			if item is Dictionary:
				options.append(OptionScript.from_dict(item, position))
	var moved: Variant = result.get("affinity")
	affinity = AffinityScript.from_dict(moved) if moved is Dictionary else null
	var aim: Variant = result.get("goal")
	goal = GoalScript.from_dict(aim) if aim is Dictionary else null
	ended = Fields.flag(result, "ended")
	provider = Fields.text(result, "provider")
	memories = []
	for item: Dictionary in Fields.maps(result, "memories"):
		memories.append(MemoryScript.from_dict(item))
	var added: Variant = result.get("memory")
	if added is Dictionary:
		memories.append(MemoryScript.from_dict(added))


func _to_string() -> String:
	if ok:
		return "ParleyReply(#%d ok %s)" % [id, result]
	return "ParleyReply(#%d %s)" % [id, error]
