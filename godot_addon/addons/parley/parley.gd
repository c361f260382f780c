extends Node
## The [code]Parley[/code] autoload: the one owner of the sidecar process, the connection
## and the conversations in flight. [code]plugin.gd[/code] registers it when the plugin is
## enabled and removes it when disabled.
##
## [codeblock]
## var reply := await Parley.say($Ansel/ParleyNPC, "Hello!")
## if reply.ok:
##     print(reply.line.text, reply.options)
## else:
##     print("failed: ", reply.error.code)
## [/codeblock]
##
## Every call is a coroutine that resumes with a [ParleyReply] (ok, or a failure carrying
## the protocol's error code such as [code]persona_not_found[/code], or one of the client's
## own: [code]timeout[/code], [code]disconnected[/code], [code]sidecar_unavailable[/code]).
## None raises, none blocks a frame, every one ends within its time limit. The sidecar is
## started on first use (or at start-up when [code]parley/sidecar/autostart[/code] is on),
## restarted if it dies, and stopped when the game quits.
##
## An [param npc] argument is a [ParleyNPC] node (its [code]persona_id[/code] is used) or a
## persona id string. One conversation per persona is kept open until [method
## end_conversation]; [method say] starts it when needed.

## The sidecar is running and connected.
signal sidecar_ready(endpoint: String)
## The sidecar could not be started or kept running; requests fail until [method start].
signal sidecar_failed(reason: String)
## A sidecar process was started: [param kind] is "packaged" (the binary under
## addons/parley/bin, or next to an exported game) or "python" (the Python fallback), and
## [param command] its program and arguments. Also readable afterwards as
## [code]process.launch_kind[/code] / [code]process.launch_command[/code].
signal sidecar_launched(kind: String, command: PackedStringArray)
## A whole line was said in [param conversation]: [code]{"speaker", "name", "text"}[/code]
## (greetings, replies, farewells, and extra NPC lines of group scenes).
signal line_received(conversation: String, line: Dictionary)
## A piece of a line being streamed in [param conversation] (append it to what was shown).
signal line_streamed(conversation: String, text: String)
## The line being streamed in [param conversation] was restarted: discard the shown text.
signal line_reset(conversation: String)
## An NPC's affinity for the player moved (0-100), with the sidecar's reason.
signal affinity_changed(persona: String, value: int, delta: int, reason: String)
## Any other event from the sidecar (goal progress, provider fallback, ...).
signal event_received(conversation: String, event: String, data: Dictionary)

const ClientScript := preload("res://addons/parley/net/client.gd")
const ProcessScript := preload("res://addons/parley/sidecar_process.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const PendingScript := preload("res://addons/parley/net/pending.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")

## Project settings of the addon and their defaults.
const SETTINGS: Dictionary = {
	"parley/sidecar/python_command": "python -m sidecar",
	"parley/sidecar/use_python": false,
	"parley/sidecar/data_dir": "user://parley",
	"parley/sidecar/personas_dir": "res://personas",
	"parley/sidecar/provider_config": "",
	"parley/sidecar/autostart": true,
	"parley/sidecar/ready_timeout_s": 20.0,
	"parley/requests/timeout_s": 30.0,
	"parley/player/id": "player",
}

var client: ClientScript = ClientScript.new()
var process: ProcessScript = ProcessScript.new()
## The player's display name ("Wren"), if the game knows it: sent with every new
## conversation, so NPCs address the player by it and never ask for it. Empty: unknown (an
## NPC learns it only if the player says it). 1-40 printable characters.
var player_name: String = ""

var _conversations: Dictionary = {}  # persona id -> conversation id
var _turns: Dictionary = {}  # persona id -> id of the turn request in flight
var _overrides: Dictionary = {}


func _ready() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS
	process.became_ready.connect(_on_process_became_ready)
	process.failed.connect(_on_process_failed)
	process.launched.connect(sidecar_launched.emit)
	client.event_received.connect(_on_client_event_received)
	if bool(setting("parley/sidecar/autostart")) and not Engine.is_editor_hint():
		_autostart.call_deferred()


func _process(_delta: float) -> void:
	process.poll()
	client.poll()


func _exit_tree() -> void:
	stop()


## Reads a Parley setting: a value given to [method configure] wins over Project Settings.
func setting(key: String) -> Variant:
	if _overrides.has(key):
		return _overrides[key]
	return ProjectSettings.get_setting(key, SETTINGS.get(key))


## Overrides settings for this run (keys as in [constant SETTINGS]); takes effect at the
## next [method start].
func configure(overrides: Dictionary) -> void:
	_overrides.merge(overrides, true)


## Starts the sidecar if it is not running. Returns false (and emits [signal
## sidecar_failed]) when it cannot be started at all.
func start() -> bool:
	process.python_command = str(setting("parley/sidecar/python_command"))
	process.use_python = bool(setting("parley/sidecar/use_python"))
	process.data_dir = str(setting("parley/sidecar/data_dir"))
	process.personas_dir = str(setting("parley/sidecar/personas_dir"))
	process.config_path = str(setting("parley/sidecar/provider_config"))
	process.ready_timeout_s = float(setting("parley/sidecar/ready_timeout_s"))
	client.default_timeout_s = float(setting("parley/requests/timeout_s"))
	return process.start()


## Stops the sidecar; pending requests fail with [code]closed[/code].
func stop() -> void:
	process.stop()
	client.close(ErrorScript.CLOSED, "Parley stopped")


## True when requests go out at once.
func is_ready() -> bool:
	return client.is_open()


## The open conversation id with [param npc], or "".
func conversation_of(npc: Variant) -> String:
	return str(_conversations.get(persona_of(npc), ""))


## The persona id of [param npc] (a [ParleyNPC] or a persona id string), or "".
func persona_of(npc: Variant) -> String:
	if npc is String or npc is StringName:
		return str(npc)
	if npc is Object and is_instance_valid(npc):
		var value: Variant = (npc as Object).get("persona_id")
		if value is String or value is StringName:
			return str(value)
	return ""


## Sends any op of the protocol (engine_bindings/PROTOCOL.md).
func request(op: String, args: Dictionary = {}, timeout_s: float = -1.0) -> ReplyScript:
	var refused: ReplyScript = _refuse_if_down()
	if refused != null:
		return refused
	return await client.request(op, args, timeout_s)


## The personas the sidecar knows: [code]result.personas[/code] is a list of
## [code]{"id", "name", ...}[/code].
func personas() -> ReplyScript:
	return await request("persona.list")


## Opens a conversation with [param npc]; the reply carries the greeting line and options.
## [param display_name] is the player's name as the NPC should know it (default:
## [member player_name]; empty: not sent).
func start_conversation(
	npc: Variant, player: String = "", display_name: String = ""
) -> ReplyScript:
	var persona: String = persona_of(npc)
	if persona.is_empty():
		return _invalid("start_conversation needs a ParleyNPC or a persona id")
	var who: String = player if not player.is_empty() else str(setting("parley/player/id"))
	var args: Dictionary = {"persona": persona, "player": who}
	var shown: String = display_name if not display_name.is_empty() else player_name
	if not shown.strip_edges().is_empty():
		args["player_name"] = shown
	var reply: ReplyScript = await request("conversation.start", args)
	if reply.ok:
		var conversation: String = str(reply.result.get("conversation", ""))
		_conversations[persona] = conversation
		line_received.emit(conversation, reply.line.to_dict())
	return reply


## Says [param text] to [param npc] (starting the conversation if needed) and resumes with
## the NPC's answer. With [param stream], [signal line_streamed] carries the answer as it is
## generated.
func say(npc: Variant, text: String, stream: bool = true) -> ReplyScript:
	if text.strip_edges().is_empty():
		return _invalid("say needs some text")
	return await _turn(npc, "conversation.say", {"text": text}, stream)


## Says answer option [param index] (0-based) of the NPC's last line as the player's line;
## [code]reply.result.player_text[/code] is the option's text.
func choose(npc: Variant, index: int, stream: bool = true) -> ReplyScript:
	return await _turn(npc, "conversation.choose", {"option": index}, stream)


## Cancels the turn [param npc] is still generating (its [method say] then resumes with the
## error code [code]cancelled[/code] and nothing is stored). [code]result.cancelled[/code]
## is false when the turn had already finished or was committing.
func cancel_turn(npc: Variant) -> ReplyScript:
	var persona: String = persona_of(npc)
	if not _turns.has(persona):
		return _invalid("no turn in flight with %s" % persona)
	return await request("request.cancel", {"id": int(_turns[persona])})


## New answer options for the NPC's last line: [code]result.options[/code].
func regenerate_options(npc: Variant) -> ReplyScript:
	var conversation: String = conversation_of(npc)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona_of(npc))
	return await request("options.generate", {"conversation": conversation})


## Sets what the player is trying to achieve with [param npc]: a goal id
## ([code]"build_trust"[/code], [code]"ask_favor"[/code], [code]"flirt"[/code],
## [code]"apologize"[/code] or one from the persona file) or a Dictionary defining one.
## Progress then comes with every answer ([code]reply.result.goal[/code]).
func set_goal(npc: Variant, goal: Variant) -> ReplyScript:
	var conversation: String = conversation_of(npc)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona_of(npc))
	return await request("goal.set", {"conversation": conversation, "goal": goal})


## The goal with [param npc] and its progress: [code]result.goal[/code] (null if none).
func goal_status(npc: Variant) -> ReplyScript:
	var conversation: String = conversation_of(npc)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona_of(npc))
	return await request("goal.status", {"conversation": conversation})


## Ends the conversation with [param npc]; the reply carries the farewell line.
func end_conversation(npc: Variant) -> ReplyScript:
	var persona: String = persona_of(npc)
	var conversation: String = conversation_of(persona)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona)
	_conversations.erase(persona)
	var reply: ReplyScript = await request("conversation.end", {"conversation": conversation})
	if reply.ok:
		line_received.emit(conversation, reply.line.to_dict())
	return reply


## The lines of the conversation with [param npc], oldest first (greeting included):
## [code]result.lines[/code], each [code]{"speaker", "name", "text", "at"}[/code].
func history(npc: Variant, limit: int = 50) -> ReplyScript:
	var conversation: String = conversation_of(npc)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona_of(npc))
	return await request("conversation.history", {"conversation": conversation, "limit": limit})


func _turn(npc: Variant, op: String, extra: Dictionary, stream: bool) -> ReplyScript:
	var persona: String = persona_of(npc)
	if persona.is_empty():
		return _invalid("%s needs a ParleyNPC or a persona id" % op)
	var conversation: String = conversation_of(persona)
	if conversation.is_empty():
		var started: ReplyScript = await start_conversation(persona)
		if not started.ok:
			return started
		conversation = conversation_of(persona)
	var refused: ReplyScript = _refuse_if_down()
	if refused != null:
		return refused
	var args: Dictionary = {"conversation": conversation, "stream": stream}
	args.merge(extra)
	var pending: PendingScript = client.send_request(op, args)
	pending.event_received.connect(_on_conversation_event.bind(conversation, persona))
	_turns[persona] = pending.id
	var reply: ReplyScript = pending.reply
	if not pending.done:
		reply = await pending.resolved
	if int(_turns.get(persona, -1)) == pending.id:
		_turns.erase(persona)
	if reply.ok:
		line_received.emit(conversation, reply.line.to_dict())
		var affinity: Variant = reply.result.get("affinity")
		var evented: bool = reply.events.any(_is_affinity_event)
		if affinity is Dictionary and not evented:
			_emit_affinity(persona, affinity)
	elif reply.error.code == &"conversation_not_found" or reply.error.code == &"conversation_ended":
		_conversations.erase(persona)
	return reply


func _autostart() -> void:
	if is_inside_tree() and not is_queued_for_deletion():
		start()


func _refuse_if_down() -> ReplyScript:
	if process.state == ProcessScript.State.FAILED:
		return ReplyScript.failed(0, ErrorScript.SIDECAR_UNAVAILABLE, "the sidecar is not running")
	if process.state == ProcessScript.State.STOPPED and not start():
		return ReplyScript.failed(0, ErrorScript.SIDECAR_UNAVAILABLE, "the sidecar cannot start")
	return null


func _invalid(message: String) -> ReplyScript:
	return ReplyScript.failed(0, ErrorScript.INVALID_ARGUMENT, message)


static func _is_affinity_event(item: Dictionary) -> bool:
	return item.get("event") == "affinity_changed"


func _emit_affinity(persona: String, data: Dictionary) -> void:
	affinity_changed.emit(
		str(data.get("persona", persona)),
		int(data.get("value", 0)),
		int(data.get("delta", 0)),
		str(data.get("reason", ""))
	)


func _on_conversation_event(
	event: String, data: Dictionary, conversation: String, persona: String
) -> void:
	match event:
		"line.delta":
			line_streamed.emit(conversation, str(data.get("text", "")))
		"line.reset":
			line_reset.emit(conversation)
		"npc.line":
			var npc_line: Variant = data.get("line", data)
			line_received.emit(conversation, npc_line if npc_line is Dictionary else {})
		"affinity_changed":
			_emit_affinity(persona, data)
		_:
			event_received.emit(conversation, event, data)


func _on_client_event_received(request_id: int, event: String, data: Dictionary) -> void:
	if request_id == 0:
		event_received.emit("", event, data)


func _on_process_became_ready(endpoint: String, token: String) -> void:
	client.connect_to(endpoint, token)
	if not client.connected.is_connected(_on_client_connected):
		client.connected.connect(_on_client_connected, CONNECT_ONE_SHOT)


func _on_client_connected() -> void:
	sidecar_ready.emit(client.endpoint)


func _on_process_failed(reason: String) -> void:
	push_warning("Parley: sidecar failed: %s" % reason)
	client.close(ErrorScript.SIDECAR_UNAVAILABLE, reason)
	sidecar_failed.emit(reason)
