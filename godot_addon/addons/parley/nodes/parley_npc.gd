@tool
@icon("res://addons/parley/nodes/parley_npc.svg")
class_name ParleyNPC
extends Node
## Makes its parent an NPC that talks through Parley: set [member persona_id] to the id of a
## persona file (e.g. "ansel" for personas/ansel.toml).
##
## [codeblock]
## var reply := await $Ansel/ParleyNPC.say("Any news?")
## $Ansel/ParleyNPC.affinity_changed.connect(
##     func(old: int, new: int, _delta: int, _reason: String) -> void: print(old, " -> ", new)
## )
## [/codeblock]
##
## It is a thin, typed front for the [code]Parley[/code] autoload (which it finds at
## /root/Parley): the autoload's signals about this NPC come out here without the NPC id,
## its streamed lines come from the [ParleyTurn]s it starts, and it remembers the NPC's last
## line and options, so a dialogue UI can be closed and reopened. Every call resumes with a
## [ParleyReply]; none raises.
##
## In the editor, [member persona_id] offers the ids of the persona files in
## [code]parley/sidecar/personas_dir[/code], and the node warns when its id is empty or has
## no file there.

## A whole line of this NPC's conversation arrived (greeting, answer, farewell).
signal line_received(line: LineScript)
## A piece of the line this NPC is saying, in a turn started here ([method say],
## [method stream], [method choose]).
signal line_streamed(text: String)
## The streamed line was restarted; drop what was shown ([param reason] as in
## [signal ParleyTurn.reset]).
signal line_reset(reason: String)
## A conversation with this NPC was opened; [param conversation] is its id.
signal conversation_started(conversation: String)
## The conversation with this NPC is over (left, or the NPC said goodbye).
signal conversation_ended(conversation: String)
## This NPC's affinity for the player moved from [param old] to [param new] by
## [param delta], for [param reason].
signal affinity_changed(old: int, new: int, delta: int, reason: String)
## The player's goal with this NPC got further.
signal goal_progressed(goal: GoalScript)
## The player achieved the goal with this NPC; [param reward] is the affinity bonus paid.
signal goal_completed(goal: GoalScript, reward: int)
## This NPC decided to do something with its line: carry it out, then
## [method ParleyAction.succeed] or [method ParleyAction.fail].
signal action_requested(action: ActionScript)

const ParleyScript := preload("res://addons/parley/parley.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
const OptionScript := preload("res://addons/parley/api/option.gd")
const GoalScript := preload("res://addons/parley/api/goal.gd")
const TurnScript := preload("res://addons/parley/api/turn.gd")
const ActionScript := preload("res://addons/parley/api/action.gd")
const Catalog := preload("res://addons/parley/editor/persona_catalog.gd")

## Id of the persona (its file name without .toml). The inspector suggests the ids found in
## the persona folder ([code]parley/sidecar/personas_dir[/code]).
@export var persona_id: String = "":
	set(value):
		persona_id = value
		if Engine.is_editor_hint():
			update_configuration_warnings()
## Name shown in the dialogue UI; the persona's own name when empty.
@export var display_name: String = ""

## The NPC's last line (an empty [ParleyLine] before talking and after [method leave]).
var last_line: LineScript = LineScript.new()
## The answer options offered with [member last_line].
var last_options: Array[OptionScript] = []

var _last_result: Dictionary = {}


func _ready() -> void:
	if Engine.is_editor_hint():
		return  # a @tool script: in the editor there is no Parley to talk to
	var parley: ParleyScript = _parley()
	if parley == null:
		return
	parley.line_received.connect(_on_parley_line_received)
	parley.conversation_started.connect(_on_parley_conversation_started)
	parley.conversation_ended.connect(_on_parley_conversation_ended)
	parley.affinity_changed.connect(_on_parley_affinity_changed)
	parley.goal_progressed.connect(_on_parley_goal_progressed)
	parley.goal_completed.connect(_on_parley_goal_completed)
	parley.action_requested.connect(_on_parley_action_requested)


## True while a conversation with this NPC is open.
func is_talking() -> bool:
	var parley: ParleyScript = _parley()
	return parley != null and not parley.conversation_of(persona_id).is_empty()


## Opens the conversation (greeting and options), or, if it is open already, resumes with
## the last line and options again.
func talk() -> ReplyScript:
	var parley: ParleyScript = _parley()
	if parley == null:
		return _no_autoload()
	if is_talking() and not last_line.is_empty():
		return ReplyScript.succeeded(0, _last_result)
	var reply: ReplyScript = await parley.start_conversation(persona_id)
	_remember(reply)
	return reply


## Says [param text] to this NPC and returns the [ParleyTurn] at once; its pieces also
## come out as [signal line_streamed].
func stream(text: String) -> TurnScript:
	var parley: ParleyScript = _parley()
	if parley == null:
		return _failed_turn()
	return _follow(parley.stream(persona_id, text))


## Says [param text] to this NPC and resumes with its answer (streamed as
## [signal line_streamed] unless [param streamed] is false).
func say(text: String, streamed: bool = true) -> ReplyScript:
	var parley: ParleyScript = _parley()
	if parley == null:
		return _no_autoload()
	if streamed:
		return await stream(text).done()
	var reply: ReplyScript = await parley.say(persona_id, text, false)
	_remember(reply)
	return reply


## Says answer option [param index] of [member last_options] and resumes with the answer
## (streamed as [signal line_streamed]).
func choose(index: int) -> ReplyScript:
	var parley: ParleyScript = _parley()
	if parley == null:
		return _no_autoload()
	return await _follow(parley.stream_choice(persona_id, index)).done()


## Ends the conversation; the reply carries the farewell (also when the NPC had already
## said goodbye).
func leave() -> ReplyScript:
	var parley: ParleyScript = _parley()
	if parley == null:
		return _no_autoload()
	_forget()
	return await parley.end_conversation(persona_id)


## The name to show: [member display_name], else the speaker name of the last line, else
## the persona id.
func shown_name() -> String:
	if not display_name.is_empty():
		return display_name
	return last_line.name if not last_line.name.is_empty() else persona_id.capitalize()


func _validate_property(property: Dictionary) -> void:
	# The scan only runs in the editor: at run time, the property list is also read by
	# duplicate() and saving, where a folder listing would be wasted.
	if property.get("name") == &"persona_id" and Engine.is_editor_hint():
		property["hint"] = PROPERTY_HINT_ENUM_SUGGESTION
		property["hint_string"] = ",".join(Catalog.ids_in(Catalog.folder()))


func _get_configuration_warnings() -> PackedStringArray:
	return Catalog.problems(persona_id, Catalog.folder())


func _follow(turn: TurnScript) -> TurnScript:
	turn.delta.connect(line_streamed.emit)
	turn.reset.connect(line_reset.emit)
	turn.finished.connect(_remember)
	return turn


func _remember(reply: ReplyScript) -> void:
	if reply.ok:
		last_line = reply.line
		last_options = reply.options
		_last_result = reply.result


func _forget() -> void:
	last_line = LineScript.new()
	last_options = []
	_last_result = {}


func _parley() -> ParleyScript:
	return get_node_or_null("/root/Parley") as ParleyScript if is_inside_tree() else null


func _no_autoload() -> ReplyScript:
	return ReplyScript.failed(
		0, ErrorScript.SIDECAR_UNAVAILABLE, "the Parley autoload is missing: enable the plugin"
	)


func _failed_turn() -> TurnScript:
	var turn := TurnScript.new()
	turn.npc_id = persona_id
	turn._finish.call_deferred(_no_autoload())
	return turn


func _on_parley_line_received(npc_id: String, line: LineScript) -> void:
	if npc_id == persona_id:
		line_received.emit(line)


func _on_parley_conversation_started(npc_id: String, conversation: String) -> void:
	if npc_id == persona_id:
		conversation_started.emit(conversation)


func _on_parley_conversation_ended(npc_id: String, conversation: String) -> void:
	if npc_id == persona_id:
		conversation_ended.emit(conversation)


func _on_parley_affinity_changed(
	npc_id: String, old: int, new: int, delta: int, reason: String
) -> void:
	if npc_id == persona_id:
		affinity_changed.emit(old, new, delta, reason)


func _on_parley_goal_progressed(npc_id: String, goal: GoalScript) -> void:
	if npc_id == persona_id:
		goal_progressed.emit(goal)


func _on_parley_goal_completed(npc_id: String, goal: GoalScript, reward: int) -> void:
	if npc_id == persona_id:
		goal_completed.emit(goal, reward)


func _on_parley_action_requested(npc_id: String, action: ActionScript) -> void:
	if npc_id == persona_id:
		action_requested.emit(action)
