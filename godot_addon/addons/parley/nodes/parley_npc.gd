@icon("res://addons/parley/nodes/parley_npc.svg")
class_name ParleyNPC
extends Node
## Makes its parent an NPC that talks through Parley: set [member persona_id] to the id of a
## persona file (e.g. "ansel" for personas/ansel.toml).
##
## [codeblock]
## var reply := await $Ansel/ParleyNPC.say("Any news?")
## [/codeblock]
##
## It is a thin, typed front for the [code]Parley[/code] autoload (which it finds at
## /root/Parley) that remembers the NPC's last line and options, so a dialogue UI can be
## closed and reopened. Every call resumes with a [ParleyReply]; none raises.

## A line of this NPC's conversation arrived (greeting, answer, extra NPC lines).
signal line_received(line: LineScript)
## A piece of this NPC's line being streamed.
signal line_streamed(text: String)
## The streamed line was restarted; drop what was shown.
signal line_reset

const ReplyScript := preload("res://addons/parley/net/reply.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
const OptionScript := preload("res://addons/parley/api/option.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")

## Id of the persona (its file name without .toml).
@export var persona_id: String = ""
## Name shown in the dialogue UI; the persona's own name when empty.
@export var display_name: String = ""

## The NPC's last line (an empty [ParleyLine] before talking and after [method leave]).
var last_line: LineScript = LineScript.new()
## The answer options offered with [member last_line].
var last_options: Array[OptionScript] = []

var _last_result: Dictionary = {}


func _ready() -> void:
	var parley: Node = _parley()
	if parley == null:
		return
	parley.connect("line_received", _on_parley_line_received)
	parley.connect("line_streamed", _on_parley_line_streamed)
	parley.connect("line_reset", _on_parley_line_reset)


## True while a conversation with this NPC is open.
func is_talking() -> bool:
	var parley: Node = _parley()
	return parley != null and not str(parley.call("conversation_of", persona_id)).is_empty()


## Opens the conversation (greeting and options), or, if it is open already, resumes with
## the last line and options again.
func talk() -> ReplyScript:
	var parley: Node = _parley()
	if parley == null:
		return _no_autoload()
	if is_talking() and not last_line.is_empty():
		return ReplyScript.succeeded(0, _last_result)
	var reply: ReplyScript = await parley.call("start_conversation", persona_id)
	_remember(reply)
	return reply


## Says [param text] to this NPC and resumes with its answer.
func say(text: String, stream: bool = true) -> ReplyScript:
	var parley: Node = _parley()
	if parley == null:
		return _no_autoload()
	var reply: ReplyScript = await parley.call("say", persona_id, text, stream)
	_remember(reply)
	return reply


## Ends the conversation; the reply carries the farewell.
func leave() -> ReplyScript:
	var parley: Node = _parley()
	if parley == null:
		return _no_autoload()
	_forget()
	return await parley.call("end_conversation", persona_id)


## The name to show: [member display_name], else the speaker name of the last line, else
## the persona id.
func shown_name() -> String:
	if not display_name.is_empty():
		return display_name
	return last_line.name if not last_line.name.is_empty() else persona_id.capitalize()


func _remember(reply: ReplyScript) -> void:
	if reply.ok:
		last_line = reply.line
		last_options = reply.options
		_last_result = reply.result


func _forget() -> void:
	last_line = LineScript.new()
	last_options = []
	_last_result = {}


func _parley() -> Node:
	return get_node_or_null("/root/Parley") if is_inside_tree() else null


func _no_autoload() -> ReplyScript:
	return ReplyScript.failed(
		0, ErrorScript.SIDECAR_UNAVAILABLE, "the Parley autoload is missing: enable the plugin"
	)


func _is_mine(conversation: String) -> bool:
	var parley: Node = _parley()
	return parley != null and conversation == str(parley.call("conversation_of", persona_id))


func _on_parley_line_received(conversation: String, line: Dictionary) -> void:
	if _is_mine(conversation):
		line_received.emit(LineScript.from_dict(line))


func _on_parley_line_streamed(conversation: String, text: String) -> void:
	if _is_mine(conversation):
		line_streamed.emit(text)


func _on_parley_line_reset(conversation: String) -> void:
	if _is_mine(conversation):
		line_reset.emit()
