extends "res://tests/test_case.gd"
## The Parley autoload (parley.gd) with the real sidecar subprocess started by
## sidecar_process.gd: a whole conversation with streamed text (ParleyTurn), lifecycle
## signals with their values, a conversation the NPC ends, then the sidecar killed in the
## middle of a conversation, restarted, and the conversation carried on from SQLite.

const ParleyScript := preload("res://addons/parley/parley.gd")
const Reply := preload("res://addons/parley/net/reply.gd")
const Pending := preload("res://addons/parley/net/pending.gd")
const ParleyErr := preload("res://addons/parley/net/error.gd")
const Turn := preload("res://addons/parley/api/turn.gd")
const Line := preload("res://addons/parley/api/line.gd")
const Goal := preload("res://addons/parley/api/goal.gd")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const Action := preload("res://addons/parley/api/action.gd")
const MemoryScript := preload("res://addons/parley/api/memory.gd")

var parley: ParleyScript = null
var _lines: Array[Line] = []
var _affinity: Array[Array] = []  # [npc_id, old, new, delta, reason]
var _lifecycle: PackedStringArray = PackedStringArray()  # "started npc conversation", ...
var _nodes: Array[Node] = []


func before_each() -> void:
	parley = make_parley(tree, "parley-test")
	parley.line_received.connect(func(_npc_id: String, line: Line) -> void: _lines.append(line))
	parley.affinity_changed.connect(
		func(npc_id: String, old: int, new: int, delta: int, reason: String) -> void:
			_affinity.append([npc_id, old, new, delta, reason])
	)
	parley.conversation_started.connect(
		func(npc_id: String, conversation: String) -> void:
			_lifecycle.append("started %s %s" % [npc_id, conversation])
	)
	parley.conversation_ended.connect(
		func(npc_id: String, conversation: String) -> void:
			_lifecycle.append("ended %s %s" % [npc_id, conversation])
	)


func after_each() -> void:
	for node: Node in _nodes:
		node.queue_free()
	parley.stop()
	parley.queue_free()
	await tree.process_frame


## A Parley node under the root, named "Parley" so /root/Parley finds it, with its own
## temporary data folder and the repository's personas, not started yet.
static func make_parley(scene_tree: SceneTree, tag: String) -> ParleyScript:
	var node: ParleyScript = ParleyScript.new()
	node.name = "Parley"
	node.configure(sidecar_settings(tag))
	scene_tree.root.add_child(node)
	return node


## Settings for a test sidecar: the tests' Python, the repository's personas, a fresh
## data folder under user://.
static func sidecar_settings(tag: String) -> Dictionary:
	var data: String = "user://%s-%d-%d" % [tag, OS.get_process_id(), Time.get_ticks_usec()]
	return {
		"parley/sidecar/autostart": false,
		"parley/sidecar/python_command": "%s -m sidecar" % python(),
		"parley/sidecar/use_python": true,  # the sidecar from source, even if one is packaged
		"parley/sidecar/personas_dir": repo_path("personas"),
		"parley/sidecar/data_dir": data,
		"parley/sidecar/ready_timeout_s": 60.0,
		"parley/requests/timeout_s": 30.0,
	}


func test_a_whole_conversation() -> void:
	var launches: Array = []
	parley.sidecar_launched.connect(
		func(kind: String, cmd: PackedStringArray) -> void: launches.append([kind, cmd])
	)
	check(parley.start(), "start")
	var ready: bool = await ready_or_failed(parley)
	if not check(ready, "sidecar ready (stderr: %s)" % [parley.process.stderr_tail]):
		return
	# use_python is on in these tests: the autoload says it ran the Python command.
	check_eq(launches.size(), 1, "sidecar_launched once")
	if launches.size() == 1:
		check_eq(launches[0][0], "python", "kind")
		check_eq(launches[0][1][0], python(), "program")
		check_eq(parley.process.launch_kind, "python", "process.launch_kind")
	var personas: Reply = await parley.personas()
	check(personas.ok, "persona.list")
	var ids: Array = personas.result.get("personas", []).map(
		func(p: Dictionary) -> String: return p["id"]
	)
	check("ansel" in ids and "goldie" in ids and "sorrel" in ids, "demo personas: %s" % [ids])

	var hello: Reply = await parley.start_conversation("ansel", "ada")
	check(hello.ok, "conversation.start (%s)" % hello)
	check(not hello.text().is_empty(), "a greeting")
	check(not hello.options.is_empty(), "answer options")
	var conversation: String = parley.conversation_of("ansel")
	check(not conversation.is_empty(), "conversation id kept")

	var turn: Turn = parley.stream("ansel", "Good morning! My name is Ada. Any news?")
	check(not turn.is_done(), "stream() returns before the turn is done")
	var pieces: Array[String] = []  # an Array: lambdas capture it by reference
	turn.delta.connect(func(piece: String) -> void: pieces.append(piece))
	turn.reset.connect(func(_reason: String) -> void: pieces.clear())
	var answer: Reply = await turn.done()
	check(answer.ok, "conversation.say (%s)" % answer)
	check(not answer.text().is_empty(), "an answer")
	check(pieces.size() >= 2, "streamed in pieces: %s" % [pieces])
	check_eq(
		"".join(PackedStringArray(pieces)).strip_edges(),
		answer.line.text.strip_edges(),
		"deltas = the line"
	)
	check_eq(turn.text.strip_edges(), answer.line.text.strip_edges(), "turn.text = the line")
	check(turn.reply == answer and turn.conversation == conversation, "the turn's reply and id")
	var again: Reply = await turn.done()
	check(again == answer, "done() on a finished turn resumes with the same reply")
	check(_lines.size() >= 2, "line_received for greeting and answer")
	check(_lines.size() >= 2 and _lines[-1].text == answer.line.text, "the answer's ParleyLine")
	check_eq(answer.provider, "embedded", "provider")
	check("started ansel %s" % conversation in _lifecycle, "conversation_started")

	var past: Reply = await parley.history("ansel")
	check(past.ok, "history")
	var texts: Array = past.result.get("lines", []).map(
		func(l: Dictionary) -> String: return l["text"]
	)
	check(texts.size() >= 3, "greeting, question, answer: %s" % [texts])
	if texts.size() >= 3:
		check_eq(texts[0], hello.text(), "greeting first")
		check_eq(texts[1], "Good morning! My name is Ada. Any news?", "then the player")

	# The player's display name: the NPC knows it without being told.
	var named: Reply = await parley.start_conversation("goldie", "ada", "Wren")
	check(named.ok, "conversation.start with a display name (%s)" % named)
	var who: Reply = await parley.say("goldie", "What's my name?")
	check(who.ok and "Wren" in who.text(), "the NPC knows the display name: %s" % who.text())
	var bad: Reply = await parley.start_conversation("sorrel", "ada", "Wr\nen")
	check_eq(bad.error_code(), &"bad_request", "a display name with a control character")
	await parley.end_conversation("goldie")

	var missing: Reply = await parley.start_conversation("nobody_here")
	check_eq(missing.error_code(), &"persona_not_found", "unknown persona: the protocol's code")

	var bye: Reply = await parley.end_conversation("ansel")
	check(bye.ok and not bye.text().is_empty(), "a farewell")
	check(parley.conversation_of("ansel").is_empty(), "conversation forgotten")
	check("ended ansel %s" % conversation in _lifecycle, "conversation_ended")
	var pid: int = parley.process.pid
	parley.stop()
	var gone: bool = await wait_until(func() -> bool: return not OS.is_process_running(pid), 10.0)
	check(gone, "stop() ends the sidecar")


func test_sidecar_killed_mid_conversation_and_restarted() -> void:
	parley.process.restart_delay_min_s = 0.1
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var hello: Reply = await parley.start_conversation("goldie", "ada")
	if not check(hello.ok, "conversation.start"):
		return
	var first: Reply = await parley.say("goldie", "I'd like a room for the night, please.")
	check(first.ok, "first turn")
	var first_pid: int = parley.process.pid

	# Kill -9 the sidecar while a turn is in flight.
	var args: Dictionary = {
		"conversation": parley.conversation_of("goldie"),
		"text": "And what is for supper?",
	}
	var in_flight: Pending = parley.client.send_request("conversation.say", args)
	await wait_until(func() -> bool: return in_flight.sent, 5.0)
	OS.kill(first_pid)
	var resolved: bool = await wait_until(func() -> bool: return in_flight.done, 20.0)
	check(resolved, "the in-flight turn resolves")
	if resolved and not in_flight.reply.ok:
		check_eq(in_flight.reply.error_code(), ParleyErr.DISCONNECTED, "as disconnected")

	var back: bool = await wait_until(
		func() -> bool: return parley.process.starts >= 2 and parley.is_ready(), 60.0
	)
	if not check(back, "restarted and reconnected (%s)" % [parley.process.stderr_tail]):
		return
	check(parley.process.pid != first_pid, "a new process")
	var again: Reply = await parley.say("goldie", "Thank you, that sounds lovely.")
	check(again.ok, "the same conversation carries on after the restart (%s)" % again)
	var past: Reply = await parley.history("goldie")
	var texts: Array = past.result.get("lines", []).map(
		func(l: Dictionary) -> String: return l["text"]
	)
	check("I'd like a room for the night, please." in texts, "earlier turns survived the kill")
	check("Thank you, that sounds lovely." in texts, "and the new one is stored")


func test_options_goals_and_cancel() -> void:
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var hello: Reply = await parley.start_conversation("goldie", "ada")
	check(hello.ok and hello.options.size() == 3, "greeting with three options")
	var goal: Reply = await parley.set_goal("goldie", "build_trust")
	check(goal.ok, "goal.set (%s)" % goal)
	var offered: String = hello.options[0].text if hello.options.size() > 0 else "?"
	var chosen: Reply = await parley.choose("goldie", 0)
	check(chosen.ok, "conversation.choose (%s)" % chosen)
	check_eq(str(chosen.result.get("player_text", "")), offered, "the option was said")
	check(chosen.result.get("goal") is Dictionary, "the answer carries the goal's progress")
	var fresh: Reply = await parley.regenerate_options("goldie")
	check(fresh.ok and fresh.result.get("options", []).size() == 3, "options.generate")
	var status: Reply = await parley.goal_status("goldie")
	check(status.ok, "goal.status")
	if status.ok:
		check_eq(str(status.result["goal"]["id"]), "build_trust", "goal id")
	var bad: Reply = await parley.choose("goldie", 9)
	check_eq(bad.error_code(), &"bad_request", "an option that was not offered")
	var idle: Reply = await parley.cancel_turn("goldie")
	check(not idle.ok, "nothing in flight to cancel")


func test_affinity_and_goal_signals_carry_their_values() -> void:
	# Bug 1 of issue 12: affinity_changed read data.value, which the event does not have,
	# so it always reported 0. Each signal's values must be the turn's own.
	var npc: NpcScript = _npc("goldie")
	var on_npc: Array = []  # untyped, to compare with the map() below
	npc.affinity_changed.connect(
		func(old: int, new: int, delta: int, reason: String) -> void:
			on_npc.append([old, new, delta, reason])
	)
	var progressed: Array[Goal] = []
	npc.goal_progressed.connect(func(goal: Goal) -> void: progressed.append(goal))
	var completed: Array[Array] = []
	npc.goal_completed.connect(
		func(goal: Goal, reward: int) -> void: completed.append([goal, reward])
	)
	var autoload_goals: Array = []
	parley.goal_completed.connect(
		func(npc_id: String, goal: Goal, _reward: int) -> void:
			autoload_goals.append("%s %s" % [npc_id, goal.id])
	)
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var hello: Reply = await npc.talk()
	if not check(hello.ok, "talk (%s)" % hello):
		return
	check(hello.affinity != null and hello.affinity.value == 50, "a greeting starts at 50")
	var aim: Reply = await parley.set_goal(npc, "build_trust")
	if not check(aim.ok and aim.goal != null, "goal.set (%s)" % aim):
		return
	check(not aim.goal.description.is_empty(), "goal.set carries a description")
	var lines: PackedStringArray = [
		"Hello! How are you?",
		"Tell me about yourself.",
		"What about your family?",
		"And the village?"
	]
	var moved: int = 0
	for text: String in lines:
		var before: int = _affinity.size()
		var reply: Reply = await npc.say(text)
		if not check(reply.ok and reply.affinity != null, "say %s (%s)" % [text, reply]):
			return
		var signalled: Array = _affinity.slice(before)
		if reply.affinity.delta == 0:
			check(signalled.is_empty(), "no affinity_changed when it did not move")
			continue
		moved += 1
		if not check_eq(signalled.size(), 1, "one affinity_changed for %s" % text):
			continue
		var got: Array = signalled[0]
		check_eq(got[0], "goldie", "keyed by persona id")
		check_eq(got[2], reply.affinity.value, "new = the reply's value")
		check_eq(got[3], reply.affinity.delta, "delta = the reply's delta")
		check_eq(got[1], reply.affinity.value - reply.affinity.delta, "old = new - delta")
		check_eq(got[4], reply.affinity.reason, "reason = the reply's reason")
		check(reply.goal != null and reply.goal.description == aim.goal.description, "described")
	check(moved >= 1, "affinity moved at least once")
	check_eq(on_npc, _affinity.map(func(a: Array) -> Array: return a.slice(1)), "same on the node")
	check(not progressed.is_empty(), "goal_progressed on the node")
	for goal: Goal in progressed:
		check(goal.id == "build_trust" and goal.progress > 0.0, "progress: %s" % goal)
	if check_eq(completed.size(), 1, "goal_completed once"):
		var goal: Goal = completed[0][0]
		check(goal.id == "build_trust" and goal.completed, "the completed goal: %s" % goal)
		check_eq(goal.description, aim.goal.description, "with its description")
		check_eq(completed[0][1], 20, "build_trust's reward")
	check_eq(autoload_goals, ["goldie build_trust"], "goal_completed on the autoload, keyed")


func test_a_conversation_the_npc_ends() -> void:
	# Bug 2 of issue 12: result.ended was ignored, so after the farewell the NPC still looked
	# busy and the next say or end_conversation failed with conversation_ended.
	var npc: NpcScript = _npc("sorrel")
	var ended_on_npc: Array[String] = []  # an Array: lambdas capture it by reference
	npc.conversation_ended.connect(func(id: String) -> void: ended_on_npc.append(id))
	var streamed: Array[String] = []  # an Array: lambdas capture it by reference
	npc.line_streamed.connect(func(piece: String) -> void: streamed.append(piece))
	npc.line_reset.connect(func(_reason: String) -> void: streamed.clear())
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var hello: Reply = await npc.talk()
	if not check(hello.ok and npc.is_talking(), "talking (%s)" % hello):
		return
	var first: String = parley.conversation_of("sorrel")
	var bye: Reply = await npc.say("Goodbye!")
	if not check(bye.ok, "say goodbye (%s)" % bye):
		return
	check(bye.ended and bye.result.get("ended") == true, "the NPC said goodbye: ended")
	check(bye.options.is_empty(), "no options after the farewell")
	check_eq(
		"".join(PackedStringArray(streamed)).strip_edges(),
		bye.line.text.strip_edges(),
		"streamed on the node"
	)
	check(not npc.is_talking(), "is_talking() is false once the NPC said goodbye")
	check(parley.conversation_of("sorrel").is_empty(), "the autoload forgot the conversation")
	check_eq(ended_on_npc, [first] as Array[String], "conversation_ended on the node")
	check("ended sorrel %s" % first in _lifecycle, "conversation_ended on the autoload")

	var left: Reply = await npc.leave()
	check(left.ok, "leave() after the farewell succeeds quietly (%s)" % left)
	check_eq(left.line.text, bye.line.text, "with the farewell that was said")
	check_eq(ended_on_npc.size(), 1, "and ends nothing twice")

	var again: Reply = await npc.say("Hello again, Sorrel.")
	check(again.ok, "the next say starts a new conversation (%s)" % again)
	var second: String = parley.conversation_of("sorrel")
	check(not second.is_empty() and second != first, "a new conversation id")
	check("started sorrel %s" % second in _lifecycle, "conversation_started for it")
	check(npc.is_talking(), "talking again")
	var bye_again: Reply = await parley.say("sorrel", "Goodbye!")
	check(bye_again.ok and bye_again.ended, "ended again")
	var quiet: Reply = await parley.end_conversation("sorrel")
	check(quiet.ok, "end_conversation after the farewell succeeds quietly (%s)" % quiet)
	var nothing: Reply = await parley.end_conversation("sorrel")
	check_eq(nothing.error_code(), ParleyErr.INVALID_ARGUMENT, "but only once")


func test_turn_handles_finish_once_after_stream_returns() -> void:
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	# Failures arrive through the turn too, never before stream() has returned.
	var unknown: Turn = parley.stream("nobody_here", "Hello?")
	var finishes: Array[Reply] = []
	unknown.finished.connect(func(reply: Reply) -> void: finishes.append(reply))
	check(not unknown.is_done(), "not finished before the caller could connect")
	var missing: Reply = await unknown.done()
	check_eq(missing.error_code(), ParleyErr.PERSONA_NOT_FOUND, "unknown persona")
	check_eq(finishes.size(), 1, "finished once")
	var blank: Reply = await parley.stream("goldie", "   ").done()
	check_eq(blank.error_code(), ParleyErr.INVALID_ARGUMENT, "blank text")

	var hello: Reply = await parley.start_conversation("goldie", "ada")
	if not check(hello.ok, "start"):
		return
	# Cancelled before it is sent: nothing goes to the sidecar, nothing is stored.
	var turn: Turn = parley.stream("goldie", "Tell me a secret about the mill.")
	turn.cancel()
	var cancelled: Reply = await turn.done()
	check_eq(cancelled.error_code(), ParleyErr.CANCELLED, "cancelled")
	check_eq(turn.request_id, 0, "never sent")
	var past: Reply = await parley.history("goldie")
	var texts: Array = past.result.get("lines", []).map(
		func(l: Dictionary) -> String: return l["text"]
	)
	check("Tell me a secret about the mill." not in texts, "nothing stored: %s" % [texts])

	# Cancelled while in flight: the sidecar answers request.cancel, and the turn finishes
	# once, cancelled or (when it was committing already) with its answer.
	var raced: Turn = parley.stream("goldie", "What is for supper?")
	await wait_until(func() -> bool: return raced.request_id != 0 or raced.is_done(), 10.0)
	var asked: Reply = await parley.cancel_turn("goldie")
	var outcome: Reply = await raced.done()
	if asked.ok:
		check(asked.result.has("cancelled") and asked.result.has("state"), "request.cancel's shape")
		if asked.result.get("state") == "queued":
			check_eq(outcome.error_code(), ParleyErr.CANCELLED, "a queued turn is cancelled")
	else:
		check(raced.is_done(), "only a finished turn cannot be cancelled (%s)" % asked)
	check(outcome.ok or outcome.error_code() == ParleyErr.CANCELLED, "finished: %s" % outcome)


func test_memories_history_search_save_slots_and_world_facts() -> void:
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var told: Reply = await parley.remember("goldie", "The player saved the mill.", "", 0, "ada")
	check(told.ok, "memory.add (%s)" % told)
	if told.ok:
		check_eq(told.result["memory"]["text"], "The player saved the mill.", "stored as given")
		check_eq(told.result["memory"]["kind"], "event", "the default kind")
	var promise: Reply = await parley.remember(
		"goldie", "The player promised to bring a trout.", "promise", 9, "ada"
	)
	check(promise.ok and promise.result["memory"]["importance"] == 9, "kind and importance")
	var listed: Reply = await parley.memories("goldie", 0, "ada")
	var texts: Array = listed.result.get("memories", []).map(
		func(m: Dictionary) -> String: return m["text"]
	)
	check_eq(texts.size(), 2, "both memories: %s" % [texts])
	check(texts.size() == 2 and texts[0] == "The player promised to bring a trout.", "ranked")
	# The same, typed.
	check_eq(listed.memories.size(), 2, "typed memories")
	if listed.memories.size() == 2:
		var first: MemoryScript = listed.memories[0]
		check_eq(first.text, "The player promised to bring a trout.", "its text")
		check_eq([first.kind, first.importance], ["promise", 9], "its kind and importance")
		check(first.id > 0 and first.at > 0.0, "an id and a time: %s" % first)
		check_eq([first.conversation, first.seq, first.told_by], ["", -1, ""], "added by the game")
	check(told.memories.size() == 1 and told.memories[0].kind == "event", "remember's memory")
	var top: Reply = await parley.memories("goldie", 1, "ada")
	check_eq(top.result.get("memories", []).size(), 1, "limit")
	var bad: Reply = await parley.remember("goldie", "line\nbreak", "", 0, "ada")
	check_eq(bad.error_code(), ParleyErr.BAD_REQUEST, "a control character is refused")
	var nobody: Reply = await parley.remember("nobody_here", "x", "", 0, "ada")
	check_eq(nobody.error_code(), ParleyErr.PERSONA_NOT_FOUND, "an unknown persona")

	var hello: Reply = await parley.start_conversation("goldie", "ada")
	var said: Reply = await parley.say("goldie", "My grandmother's copper kettle whistles.")
	check(hello.ok and said.ok, "a conversation to search")
	var found: Reply = await parley.search_history("copper kettle")
	var hits: Array = found.result.get("hits", [])
	check(
		hits.any(func(h: Dictionary) -> bool: return "copper kettle" in str(h["text"])),
		"history.search finds the line: %s" % [hits]
	)
	check(hits.size() >= 1 and "[b]" in str(hits[0].get("snippet", "")), "a BBCode snippet")
	var elsewhere: Reply = await parley.search_history("copper kettle", "sorrel")
	check(elsewhere.ok and elsewhere.result.get("hits", []).is_empty(), "narrowed to sorrel")
	var blank: Reply = await parley.search_history("  ")
	check_eq(blank.error_code(), ParleyErr.BAD_REQUEST, "an empty query")

	var world: Reply = await parley.set_world("time_of_day", "night")
	check(world.ok and world.result["facts"].get("time_of_day") == "night", "world.set")
	var odd: Reply = await parley.set_world("weather", [1, 2])
	check_eq(odd.error_code(), ParleyErr.BAD_REQUEST, "a list is no world value")

	var saved: Reply = await parley.save_slot("before_trout")
	check(saved.ok and saved.result["save"]["slot"] == "before_trout", "save.create (%s)" % saved)
	await parley.remember("goldie", "The player broke a mug.", "", 0, "ada")
	await parley.set_world("time_of_day", "morning")
	var ended: Array[String] = []  # an Array: lambdas capture it by reference
	parley.conversation_ended.connect(func(id: String, _c: String) -> void: ended.append(id))
	var loaded: Reply = await parley.load_slot("before_trout")
	check(loaded.ok, "save.load (%s)" % loaded)
	var after: Reply = await parley.memories("goldie", 0, "ada")
	var after_texts: Array = after.result.get("memories", []).map(
		func(m: Dictionary) -> String: return m["text"]
	)
	check("The player broke a mug." not in after_texts, "the load undid the later memory")
	check_eq(after_texts.size(), 2, "and kept the saved ones: %s" % [after_texts])
	var facts: Reply = await parley.request("world.get")
	check_eq(str(facts.result["facts"].get("time_of_day")), "night", "and the saved world")
	check_eq(ended, ["goldie"] as Array[String], "the open conversation is over")
	check(parley.conversation_of("goldie").is_empty(), "forgotten")
	var missing: Reply = await parley.load_slot("no_such_slot")
	check_eq(missing.error_code(), ParleyErr.SLOT_NOT_FOUND, "an unknown slot")


func test_an_npc_action_round_trip() -> void:
	var npc: NpcScript = _npc("ansel")
	var on_npc: Array[Action] = []
	npc.action_requested.connect(func(action: Action) -> void: on_npc.append(action))
	var on_autoload: Array[String] = []
	parley.action_requested.connect(
		func(npc_id: String, action: Action) -> void: on_autoload.append(npc_id + " " + action.name)
	)
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var hello: Reply = await npc.talk()
	if not check(hello.ok, "talk (%s)" % hello):
		return
	var asked: Reply = await npc.say("My sword is chipped. Can you mend it?")
	check(asked.ok, "say (%s)" % asked)
	check_eq(on_autoload, ["ansel repair_item"], "action_requested on the autoload, keyed")
	if not check_eq(on_npc.size(), 1, "and on the node"):
		return
	var action: Action = on_npc[0]
	check(action.id.begins_with("a_") and action.npc_id == "ansel", "id and npc: %s" % action)
	check_eq(action.args.get("item"), "sword", "the item from the player's words")
	check_eq(action.args.get("price"), 2, "the persona rule's price")
	var listed: Array = asked.result.get("actions", [])
	check(listed.size() == 1 and listed[0]["id"] == action.id, "the reply lists the same action")
	var conversation: String = parley.conversation_of("ansel")
	var waiting: Reply = await parley.request("actions.pending", {"conversation": conversation})
	check_eq(waiting.result.get("actions", []).size(), 1, "pending until answered")
	var answer: Reply = await action.succeed("the player paid two coppers")
	check(answer.ok and answer.result.get("accepted") == true, "action.result (%s)" % answer)
	check(action.answered, "answered")
	var twice: Reply = await action.fail("changed my mind")
	check_eq(twice.error_code(), ParleyErr.INVALID_ARGUMENT, "the first answer stands")
	var after: Reply = await parley.request("actions.pending", {"conversation": conversation})
	check(after.ok and after.result.get("actions", []).is_empty(), "no longer pending")
	# The result with its detail became an event memory of Ansel's about the player.
	var kept: Reply = await parley.memories("ansel")
	var memory_texts: Array = kept.result.get("memories", []).map(
		func(m: Dictionary) -> String: return m["text"]
	)
	check(
		memory_texts.any(func(t: String) -> bool: return "the player paid two coppers" in t),
		"the detail is remembered: %s" % [memory_texts]
	)
	var paid: Array = kept.memories.filter(
		func(m: MemoryScript) -> bool: return "the player paid two coppers" in m.text
	)
	check(
		not paid.is_empty() and paid[0].conversation == conversation and paid[0].seq >= 0,
		"it points at the turn's line: %s" % [paid]
	)
	var next: Reply = await npc.say("Thank you.")
	check(next.ok and not next.text().is_empty(), "the turn after the result (%s)" % next)


func test_a_scene_with_three_npcs() -> void:
	var heard: Array[Line] = []
	parley.scene_line.connect(func(_scene: String, line: Line) -> void: heard.append(line))
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var started: Reply = await parley.start_scene(["goldie", "ansel", "rook"], "natural", "ada")
	if not check(started.ok, "scene.start (%s)" % started):
		return
	var scene: String = str(started.result.get("scene", ""))
	var greeters: Array = started.lines.map(func(l: Line) -> String: return l.speaker)
	check_eq(greeters, ["goldie", "ansel", "rook"], "a greeting each, in the scene's order")
	check_eq(heard.size(), 3, "scene_line for each greeting")
	heard.clear()
	var turn: Turn = parley.stream_scene(scene, "Goldie, Ansel, what news from the village?")
	var said: Array[Line] = []
	turn.line_said.connect(func(line: Line) -> void: said.append(line))
	var speakers: Array[String] = []  # an Array: lambdas capture it by reference
	turn.delta.connect(
		func(_piece: String) -> void:
			if speakers.is_empty() or speakers[-1] != turn.speaker:
				speakers.append(turn.speaker)
	)
	var reply: Reply = await turn.done()
	if not check(reply.ok, "scene.say (%s)" % reply):
		return
	check(reply.lines.size() >= 2, "at least the two named NPCs answer: %s" % [reply.lines])
	if reply.lines.size() >= 2:
		check_eq(reply.lines[0].speaker, "goldie", "Goldie first (named first)")
		check_eq(reply.lines[1].speaker, "ansel", "then Ansel")
		check_eq(reply.lines[0].addressed_to, PackedStringArray(["ansel"]), "to the next named")
		check(reply.lines[1].seq > reply.lines[0].seq, "in order")
	var texts: Array = reply.lines.map(func(l: Line) -> String: return l.text)
	check_eq(said.map(func(l: Line) -> String: return l.text), texts, "line_said per line")
	check_eq(heard.map(func(l: Line) -> String: return l.text), texts, "scene_line per line")
	check(speakers.size() >= 2 and speakers[0] == "goldie", "deltas name who: %s" % [speakers])
	var quick: Reply = await parley.scene_say(scene, "Rook, and you?", false)
	check(quick.ok and quick.lines.size() >= 1 and quick.lines[0].speaker == "rook", "Rook")
	heard.clear()
	var bye: Reply = await parley.end_scene(scene)
	check(bye.ok and bye.lines.size() == 3, "three farewells (%s)" % bye)
	check_eq(heard.size(), 3, "as scene_line too")
	var after: Reply = await parley.scene_say(scene, "Hello?")
	check_eq(after.error_code(), ParleyErr.CONVERSATION_ENDED, "an ended scene")


func test_requests_before_start_start_the_sidecar() -> void:
	var reply: Reply = await parley.personas()
	check(reply.ok, "persona.list started the sidecar on demand (%s)" % reply)


func test_freeing_the_autoload_stops_the_sidecar() -> void:
	check(parley.start(), "start")
	if not check(await ready_or_failed(parley), "ready"):
		return
	var pid: int = parley.process.pid
	check(OS.is_process_running(pid), "running")
	parley.queue_free()  # what happens to an autoload when the game quits
	await tree.process_frame
	var gone: bool = await wait_until(func() -> bool: return not OS.is_process_running(pid), 10.0)
	check(gone, "the sidecar ends with the node")
	parley = make_parley(tree, "parley-test")  # for after_each


## A ParleyNPC for [param persona] under the root (freed after the test).
func _npc(persona: String) -> NpcScript:
	var npc: NpcScript = NpcScript.new()
	npc.persona_id = persona
	tree.root.add_child(npc)
	_nodes.append(npc)
	return npc


## Waits until [param node] is connected to its sidecar, or has given up on it (then the
## failure shows at once instead of after the whole time limit). True when ready.
func ready_or_failed(node: ParleyScript) -> bool:
	await wait_until(
		func() -> bool: return node.is_ready() or node.process.state == node.process.State.FAILED,
		60.0
	)
	return node.is_ready()
