# gdlint: disable=max-public-methods
# (The autoload is the addon's one front door, so its methods are the API the issues name;
# a facade object would only add a hop. That is more than gdlint's default of 20.)
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
## A conversation with [param npc_id] was opened ([method start_conversation], or the first
## [method say] to that NPC); [param conversation] is its id.
signal conversation_started(npc_id: String, conversation: String)
## The conversation with [param npc_id] is over: [method end_conversation], or the NPC said
## goodbye in a turn ([member ParleyReply.ended]). The next [method say] starts a new one.
signal conversation_ended(npc_id: String, conversation: String)
## A whole line of [param npc_id]'s conversation was said: the greeting, an answer, the
## farewell.
signal line_received(npc_id: String, line: LineScript)
## [param npc_id]'s affinity for the player moved from [param old] to [param new] (0-100)
## by [param delta], for [param reason] (every part of the change, joined with "; ").
## Emitted once the turn is stored, before its reply; not emitted when it did not move.
signal affinity_changed(npc_id: String, old: int, new: int, delta: int, reason: String)
## The player's goal with [param npc_id] ([method set_goal]) got further:
## [member ParleyGoal.progress] went up.
signal goal_progressed(npc_id: String, goal: GoalScript)
## The player achieved the goal with [param npc_id]; [param reward] is the affinity bonus
## it paid (once).
signal goal_completed(npc_id: String, goal: GoalScript, reward: int)
## A whole NPC line of scene [param scene] was said (its greetings, each line of an
## exchange as soon as it is stored, its farewells), in order; [member ParleyLine.speaker]
## says who, [member ParleyLine.addressed_to] to whom.
signal scene_line(scene: String, line: LineScript)
## [param npc_id] decided to do something with its line ([code]npc.action[/code]): carry
## it out, then answer with [method ParleyAction.succeed] or [method ParleyAction.fail].
## Emitted before the turn's reply.
signal action_requested(npc_id: String, action: ActionScript)
## Any other event from the sidecar ([code]provider.fallback[/code], ...) with its data;
## [param npc_id] is "" for an event of no turn.
signal event_received(npc_id: String, event: String, data: Dictionary)

const ClientScript := preload("res://addons/parley/net/client.gd")
const ProcessScript := preload("res://addons/parley/sidecar_process.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const PendingScript := preload("res://addons/parley/net/pending.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")
const TurnScript := preload("res://addons/parley/api/turn.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
const GoalScript := preload("res://addons/parley/api/goal.gd")
const ActionScript := preload("res://addons/parley/api/action.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

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

## The request/reply layer (advanced: [method request] is the usual way in).
var client: ClientScript = ClientScript.new()
## The sidecar process: [code]process.launch_kind[/code], [code]process.pid[/code],
## [code]process.stderr_tail[/code] and the like.
var process: ProcessScript = ProcessScript.new()
## The player's display name ("Wren"), if the game knows it: sent with every new
## conversation, so NPCs address the player by it and never ask for it. Empty: unknown (an
## NPC learns it only if the player says it). 1-40 printable characters.
var player_name: String = ""

var _conversations: Dictionary = {}  # persona id -> open conversation id
# persona id -> {"conversation", "line"} of a conversation the NPC ended in a turn, so
# that end_conversation afterwards succeeds quietly with that farewell.
var _ended: Dictionary = {}
var _turns: Dictionary = {}  # persona id -> the TurnScript in flight
var _goals: Dictionary = {}  # persona id -> the last GoalScript known (for its description)
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


## Stops the sidecar; pending requests fail with [constant ParleyError.CLOSED].
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


## Opens a conversation with [param npc]; the reply carries the greeting line and options,
## and [signal conversation_started] is emitted. [param display_name] is the player's name
## as the NPC should know it (default: [member player_name]; empty: not sent).
func start_conversation(
	npc: Variant, player: String = "", display_name: String = ""
) -> ReplyScript:
	var persona: String = persona_of(npc)
	if persona.is_empty():
		return _invalid("start_conversation needs a ParleyNPC or a persona id")
	var args: Dictionary = {"persona": persona, "player": _player_id(player)}
	var shown: String = display_name if not display_name.is_empty() else player_name
	if not shown.strip_edges().is_empty():
		args["player_name"] = shown
	var reply: ReplyScript = await request("conversation.start", args)
	if reply.ok:
		var conversation: String = Fields.text(reply.result, "conversation")
		_conversations[persona] = conversation
		_ended.erase(persona)
		_goals.erase(persona)
		conversation_started.emit(persona, conversation)
		line_received.emit(persona, reply.line)
	return reply


## Says [param text] to [param npc] and returns at once with the [ParleyTurn] that carries
## the answer as it streams ([signal ParleyTurn.delta]) and when it is done
## ([code]await turn.done()[/code]). Starts the conversation if none is open.
func stream(npc: Variant, text: String) -> TurnScript:
	return _begin(npc, "conversation.say", {"text": text}, true)


## Like [method stream], saying answer option [param index] (0-based) of the NPC's last line.
func stream_choice(npc: Variant, index: int) -> TurnScript:
	return _begin(npc, "conversation.choose", {"option": index}, true)


## Says [param text] to [param npc] (starting the conversation if needed) and resumes with
## the NPC's answer: [code]await Parley.stream(npc, text).done()[/code] in one call. With
## [param streamed] false the sidecar sends the line whole.
func say(npc: Variant, text: String, streamed: bool = true) -> ReplyScript:
	return await _begin(npc, "conversation.say", {"text": text}, streamed).done()


## Says answer option [param index] (0-based) of the NPC's last line as the player's line;
## [code]reply.result.player_text[/code] is the option's text.
func choose(npc: Variant, index: int, streamed: bool = true) -> ReplyScript:
	return await _begin(npc, "conversation.choose", {"option": index}, streamed).done()


## Cancels the turn [param npc] is still generating (as [method ParleyTurn.cancel]): its
## [method say] then resumes with [constant ParleyError.CANCELLED] and nothing is stored.
## Resumes with the sidecar's answer to [code]request.cancel[/code]
## ([code]result.cancelled[/code] is false when the turn was already committing), or at
## once with [code]{"cancelled": true, "state": "queued"}[/code] when the turn was not sent
## yet. Fails with [constant ParleyError.INVALID_ARGUMENT] when no turn is in flight.
func cancel_turn(npc: Variant) -> ReplyScript:
	var persona: String = persona_of(npc)
	var turn: TurnScript = _turns.get(persona)
	if turn == null or turn.is_done() or turn.is_cancel_requested():
		return _invalid("no turn in flight with %s" % persona)
	if not turn._want_cancel():
		return ReplyScript.succeeded(0, {"cancelled": true, "state": "queued"})
	return await _cancel_request(turn.request_id)


## New answer options for the NPC's last line: [code]result.options[/code] (also
## [member ParleyReply.options]).
func regenerate_options(npc: Variant) -> ReplyScript:
	var conversation: String = conversation_of(npc)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona_of(npc))
	return await request("options.generate", {"conversation": conversation})


## Sets what the player is trying to achieve with [param npc]: a goal id
## ([code]"build_trust"[/code], [code]"ask_favor"[/code], [code]"flirt"[/code],
## [code]"apologize"[/code] or one from the persona file) or a Dictionary defining one.
## Progress then comes with every answer ([member ParleyReply.goal]) and as
## [signal goal_progressed] / [signal goal_completed].
func set_goal(npc: Variant, goal: Variant) -> ReplyScript:
	var persona: String = persona_of(npc)
	var conversation: String = conversation_of(persona)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona)
	var reply: ReplyScript = await request("goal.set", {"conversation": conversation, "goal": goal})
	_know_goal(persona, reply)
	return reply


## The goal with [param npc] and its progress: [member ParleyReply.goal] (null if none).
func goal_status(npc: Variant) -> ReplyScript:
	var persona: String = persona_of(npc)
	var conversation: String = conversation_of(persona)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona)
	var reply: ReplyScript = await request("goal.status", {"conversation": conversation})
	_know_goal(persona, reply)
	return reply


## Ends the conversation with [param npc]; the reply carries the farewell line and
## [signal conversation_ended] is emitted. If the NPC already said goodbye in a turn
## ([member ParleyReply.ended]), this succeeds quietly with that farewell.
func end_conversation(npc: Variant) -> ReplyScript:
	var persona: String = persona_of(npc)
	var conversation: String = conversation_of(persona)
	if conversation.is_empty():
		if _ended.has(persona):
			var farewell: Dictionary = _ended[persona]
			_ended.erase(persona)
			return ReplyScript.succeeded(0, farewell)
		return _invalid("no open conversation with %s" % persona)
	_conversations.erase(persona)
	_goals.erase(persona)
	var reply: ReplyScript = await request("conversation.end", {"conversation": conversation})
	if reply.ok:
		line_received.emit(persona, reply.line)
		conversation_ended.emit(persona, conversation)
	elif reply.error_code() == ErrorScript.CONVERSATION_ENDED:
		# Ended already (by a turn this client did not see through): that is what was asked.
		conversation_ended.emit(persona, conversation)
		return ReplyScript.succeeded(reply.id, {"conversation": conversation})
	return reply


## The lines of the conversation with [param npc], oldest first (greeting included):
## [code]result.lines[/code], each [code]{"speaker", "name", "text", "at", ...}[/code].
func history(npc: Variant, limit: int = 50) -> ReplyScript:
	var conversation: String = conversation_of(npc)
	if conversation.is_empty():
		return _invalid("no open conversation with %s" % persona_of(npc))
	return await request("conversation.history", {"conversation": conversation, "limit": limit})


## Makes [param npc] remember [param text] about the player (a game event, "The player
## saved the mill."): [code]memory.add[/code], [code]result.memory[/code]. [param kind]
## ([code]event[/code], [code]promise[/code], [code]gift[/code], ...; "" = event) and
## [param importance] (1-10; 0 = the kind's default) are optional; [param player] defaults
## to [code]parley/player/id[/code]. The same text and kind again refreshes that memory.
## The stored memory is [code]reply.memories[0][/code].
func remember(
	npc: Variant, text: String, kind: String = "", importance: int = 0, player: String = ""
) -> ReplyScript:
	var persona: String = persona_of(npc)
	if persona.is_empty():
		return _invalid("remember needs a ParleyNPC or a persona id")
	var args: Dictionary = {"persona": persona, "player": _player_id(player), "text": text}
	if not kind.is_empty():
		args["kind"] = kind
	if importance != 0:
		args["importance"] = importance
	return await request("memory.add", args)


## What [param npc] remembers about the player, most important first:
## [member ParleyReply.memories] (typed [ParleyMemory]; the raw maps are
## [code]result.memories[/code]). [param limit] 0 = all.
func memories(npc: Variant, limit: int = 0, player: String = "") -> ReplyScript:
	var persona: String = persona_of(npc)
	if persona.is_empty():
		return _invalid("memories needs a ParleyNPC or a persona id")
	var args: Dictionary = {"persona": persona, "player": _player_id(player)}
	if limit > 0:
		args["limit"] = limit
	return await request("memory.list", args)


## Every stored line holding every word of [param query], best first:
## [code]result.hits[/code], each [code]{"conversation", "seq", "speaker", "text",
## "snippet", "at", "archived"}[/code] ([code]snippet[/code] is BBCode for a
## [RichTextLabel]). [param npc] (a [ParleyNPC], a persona id, or null for every NPC)
## narrows it to one NPC's conversations.
func search_history(query: String, npc: Variant = null, limit: int = 20) -> ReplyScript:
	var args: Dictionary = {"query": query, "limit": limit}
	var persona: String = persona_of(npc) if npc != null else ""
	if not persona.is_empty():
		args["persona"] = persona
	return await request("history.search", args)


## Saves the whole store (every conversation, memory and world fact) into save slot
## [param slot] (1-64 letters, digits, _ and -), replacing what it held:
## [code]result.save[/code] is [code]{"slot", "created_at", "bytes"}[/code].
func save_slot(slot: String) -> ReplyScript:
	return await request("save.create", {"slot": slot})


## Replaces the whole store with save slot [param slot]. Conversations open in the game are
## then over ([signal conversation_ended] for each; the next [method say] starts anew),
## since the loaded store is another moment of the game. Fails with
## [constant ParleyError.BUSY] while a turn is in flight, and
## [constant ParleyError.SLOT_NOT_FOUND] for an unknown slot; nothing changes then.
func load_slot(slot: String) -> ReplyScript:
	var reply: ReplyScript = await request("save.load", {"slot": slot})
	if reply.ok:
		var open: Dictionary = _conversations.duplicate()
		_conversations.clear()
		_ended.clear()
		_goals.clear()
		for persona: String in open:
			conversation_ended.emit(persona, str(open[persona]))
	return reply


## Tells the sidecar a fact that is true in the game now ([code]"time_of_day"[/code],
## [code]"night"[/code]): NPC lines take it into account. [param value] is a String
## (up to 200 characters), a number or a bool; [code]result.facts[/code] is every fact.
func set_world(key: String, value: Variant) -> ReplyScript:
	return await request("world.set", {"key": key, "value": value})


## Starts a scene: several NPCs within earshot of each other and the player ([param npcs]:
## [ParleyNPC]s or persona ids, 1-8, in the scene's fixed order). [member ParleyReply.lines]
## are their greetings (also as [signal scene_line]); [code]result.scene[/code] is the id
## the scene calls take. [param strategy] picks who answers a player line:
## [code]natural[/code] (the NPCs the line names, in mention order), [code]list[/code],
## [code]pooled[/code] or [code]manual[/code].
func start_scene(
	npcs: Array, strategy: String = "natural", player: String = "", display_name: String = ""
) -> ReplyScript:
	var personas: Array = []
	for npc: Variant in npcs:
		var persona: String = persona_of(npc)
		if persona.is_empty():
			return _invalid("start_scene needs ParleyNPCs or persona ids")
		personas.append(persona)
	var args: Dictionary = {
		"personas": personas, "player": _player_id(player), "strategy": strategy
	}
	var shown: String = display_name if not display_name.is_empty() else player_name
	if not shown.strip_edges().is_empty():
		args["player_name"] = shown
	var reply: ReplyScript = await request("scene.start", args)
	if reply.ok:
		var scene: String = Fields.text(reply.result, "scene")
		for line: LineScript in reply.lines:
			scene_line.emit(scene, line)
	return reply


## Says [param text] to scene [param scene] and returns the [ParleyTurn] at once: the NPCs'
## exchange streams through it ([signal ParleyTurn.delta] with [member ParleyTurn.speaker],
## one [signal ParleyTurn.line_said] per NPC line) and [code]await turn.done()[/code]
## gives the reply ([member ParleyReply.lines], [member ParleyReply.options],
## [code]result.interrupted[/code]). A newer line to the same scene cuts the running
## exchange short; [method ParleyTurn.cancel] stops it.
func stream_scene(scene: String, text: String) -> TurnScript:
	var turn := TurnScript.new()
	turn.conversation = scene
	_run_scene_turn.call_deferred(turn, text, true)
	return turn


## Says [param text] to scene [param scene] and resumes with the whole exchange:
## [code]await Parley.stream_scene(scene, text).done()[/code] in one call.
func scene_say(scene: String, text: String, streamed: bool = true) -> ReplyScript:
	var turn := TurnScript.new()
	turn.conversation = scene
	_run_scene_turn.call_deferred(turn, text, streamed)
	return await turn.done()


## Ends scene [param scene]: every present NPC's farewell ([member ParleyReply.lines], also
## as [signal scene_line]).
func end_scene(scene: String) -> ReplyScript:
	var reply: ReplyScript = await request("scene.end", {"scene": scene})
	if reply.ok:
		for line: LineScript in reply.lines:
			scene_line.emit(scene, line)
	return reply


# A turn that runs from the next idle moment, so the caller connects its signals first.
func _begin(npc: Variant, op: String, extra: Dictionary, streamed: bool) -> TurnScript:
	var turn := TurnScript.new()
	turn.npc_id = persona_of(npc)
	_run_turn.call_deferred(turn, op, extra, streamed)
	return turn


func _run_turn(turn: TurnScript, op: String, extra: Dictionary, streamed: bool) -> void:
	var persona: String = turn.npc_id
	if persona.is_empty():
		turn._finish(_invalid("%s needs a ParleyNPC or a persona id" % op))
		return
	if extra.has("text") and str(extra["text"]).strip_edges().is_empty():
		turn._finish(_invalid("say needs some text"))
		return
	_turns[persona] = turn
	var reply: ReplyScript = await _send_turn(turn, op, extra, streamed)
	if _turns.get(persona) == turn:
		_turns.erase(persona)
	turn._finish(reply)


func _send_turn(turn: TurnScript, op: String, extra: Dictionary, streamed: bool) -> ReplyScript:
	var persona: String = turn.npc_id
	var conversation: String = conversation_of(persona)
	if conversation.is_empty() and not turn.is_cancel_requested():
		var started: ReplyScript = await start_conversation(persona)
		if not started.ok:
			return started
		conversation = conversation_of(persona)
	turn.conversation = conversation
	# Checked after the start too: cancel() may come while the conversation is opened.
	if turn.is_cancel_requested():
		return ReplyScript.failed(
			0, ErrorScript.CANCELLED, "the turn was cancelled before it was sent"
		)
	var refused: ReplyScript = _refuse_if_down()
	if refused != null:
		return refused
	var args: Dictionary = {"conversation": conversation, "stream": streamed}
	args.merge(extra)
	var pending: PendingScript = client.send_request(op, args)
	pending.event_received.connect(_on_turn_event.bind(turn))
	turn._sent(pending.id, _cancel_request)
	var reply: ReplyScript = pending.reply
	if not pending.done:
		reply = await pending.resolved
	if reply.ok:
		_know_goal(persona, reply)
		line_received.emit(persona, reply.line)
		if reply.ended:
			_conversations.erase(persona)
			_goals.erase(persona)
			_ended[persona] = {"conversation": conversation, "line": reply.line.to_dict()}
			conversation_ended.emit(persona, conversation)
	elif reply.error_code() in [ErrorScript.CONVERSATION_NOT_FOUND, ErrorScript.CONVERSATION_ENDED]:
		if conversation_of(persona) == conversation:
			_conversations.erase(persona)
			conversation_ended.emit(persona, conversation)
	return reply


# request.cancel for an earlier request of this connection. If the connection dropped, the
# turn's own request fails by itself (disconnected, or timeout).
func _run_scene_turn(turn: TurnScript, text: String, streamed: bool) -> void:
	if turn.conversation.is_empty() or text.strip_edges().is_empty():
		turn._finish(_invalid("scene_say needs a scene id and some text"))
		return
	var refused: ReplyScript = _refuse_if_down()
	if refused != null:
		turn._finish(refused)
		return
	var args: Dictionary = {"scene": turn.conversation, "text": text, "stream": streamed}
	var pending: PendingScript = client.send_request("scene.say", args)
	pending.event_received.connect(_on_turn_event.bind(turn))
	turn._sent(pending.id, _cancel_request)
	var reply: ReplyScript = pending.reply
	if not pending.done:
		reply = await pending.resolved
	turn._finish(reply)


func _cancel_request(request_id: int) -> ReplyScript:
	var reply: ReplyScript = await request("request.cancel", {"id": request_id})
	if not reply.ok:
		push_warning("Parley: request.cancel failed: %s" % reply.error)
	return reply


# Keeps the goal a reply carries (for the description turn replies lack) and fills a
# turn reply's goal description from what goal.set / goal.status said.
func _know_goal(persona: String, reply: ReplyScript) -> void:
	if not reply.ok or not reply.result.has("goal"):
		return
	if reply.goal == null:
		_goals.erase(persona)
		return
	var known: GoalScript = _goals.get(persona)
	if reply.goal.description.is_empty() and known != null and known.id == reply.goal.id:
		reply.goal.description = known.description
	_goals[persona] = reply.goal


func _goal_from_event(persona: String, data: Dictionary) -> GoalScript:
	var known: GoalScript = _goals.get(persona)
	var goal := GoalScript.new()
	goal.id = Fields.text(data, "id")
	goal.reason = Fields.text(data, "reason")
	if known != null and known.id == goal.id:
		goal.description = known.description
		goal.progress = known.progress
		goal.completed = known.completed
	goal.progress = Fields.number(data, "progress", goal.progress)
	_goals[persona] = goal
	return goal


func _send_action_result(id: String, done: bool, detail: String) -> ReplyScript:
	var args: Dictionary = {"id": id, "ok": done}
	if not detail.is_empty():
		args["detail"] = detail
	return await request("action.result", args)


func _player_id(player: String) -> String:
	return player if not player.is_empty() else str(setting("parley/player/id"))


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


func _on_turn_event(event: String, data: Dictionary, turn: TurnScript) -> void:
	# Scene events name their NPC; a one-to-one turn's are its own NPC's.
	var named: String = Fields.text(data, "persona")
	var persona: String = named if not named.is_empty() else turn.npc_id
	match event:
		"line.delta":
			turn._add_delta(Fields.text(data, "text"), Fields.text(data, "speaker"))
		"line.reset":
			turn._reset(Fields.text(data, "reason"))
		"affinity_changed":
			affinity_changed.emit(
				persona,
				int(Fields.number(data, "old")),
				int(Fields.number(data, "new")),
				int(Fields.number(data, "delta")),
				Fields.text(data, "reason")
			)
		"goal_progressed":
			goal_progressed.emit(persona, _goal_from_event(persona, data))
		"goal_completed":
			var goal: GoalScript = _goal_from_event(persona, data)
			goal.completed = true
			goal_completed.emit(persona, goal, int(Fields.number(data, "reward")))
		"scene.line":
			var line: LineScript = LineScript.from_dict(data)
			turn._add_line(line)
			scene_line.emit(turn.conversation, line)
		"npc.action":
			action_requested.emit(
				persona, ActionScript.from_dict(data, persona, _send_action_result)
			)
		_:
			event_received.emit(persona, event, data)


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
