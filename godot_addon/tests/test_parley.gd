extends "res://tests/test_case.gd"
## The Parley autoload (parley.gd) with the real sidecar subprocess started by
## sidecar_process.gd: a whole conversation with streamed text, then the sidecar killed in
## the middle of a conversation, restarted, and the conversation carried on from SQLite.

const ParleyScript := preload("res://addons/parley/parley.gd")
const Reply := preload("res://addons/parley/net/reply.gd")
const Pending := preload("res://addons/parley/net/pending.gd")
const ParleyErr := preload("res://addons/parley/net/error.gd")

var parley: ParleyScript = null
var _streamed: Dictionary = {}  # conversation -> text
var _lines: Array[Dictionary] = []
var _affinity: Array = []


func before_each() -> void:
	parley = make_parley(tree, "parley-test")
	parley.line_streamed.connect(
		func(conversation: String, text: String) -> void:
			_streamed[conversation] = str(_streamed.get(conversation, "")) + text
	)
	parley.line_received.connect(
		func(_conversation: String, line: Dictionary) -> void: _lines.append(line)
	)
	parley.affinity_changed.connect(
		func(persona: String, value: int, delta: int, _reason: String) -> void:
			_affinity.append([persona, value, delta])
	)


func after_each() -> void:
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

	var answer: Reply = await parley.say("ansel", "Good morning! My name is Ada. Any news?")
	check(answer.ok, "conversation.say (%s)" % answer)
	check(not answer.text().is_empty(), "an answer")
	check_eq(
		str(_streamed.get(conversation, "")).strip_edges(),
		answer.text().strip_edges(),
		"the streamed pieces add up to the answer"
	)
	check(_lines.size() >= 2, "line_received for greeting and answer")
	check(not _affinity.is_empty() and _affinity[-1][0] == "ansel", "affinity_changed")

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


## Waits until [param node] is connected to its sidecar, or has given up on it (then the
## failure shows at once instead of after the whole time limit). True when ready.
func ready_or_failed(node: ParleyScript) -> bool:
	await wait_until(
		func() -> bool: return node.is_ready() or node.process.state == node.process.State.FAILED,
		60.0
	)
	return node.is_ready()
