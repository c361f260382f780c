extends "res://tests/test_case.gd"
## The typed results (api/*.gd, net/reply.gd) read from the protocol's maps: every field of
## PROTOCOL.md's reply shapes, what missing or mistyped fields become, and the option
## indexes choose() relies on.

const Reply := preload("res://addons/parley/net/reply.gd")
const Line := preload("res://addons/parley/api/line.gd")
const Option := preload("res://addons/parley/api/option.gd")
const Goal := preload("res://addons/parley/api/goal.gd")
const Memory := preload("res://addons/parley/api/memory.gd")
const ParleyErr := preload("res://addons/parley/net/error.gd")

# A conversation.say result as PROTOCOL.md §5 shows it.
const SAY_RESULT: Dictionary = {
	"line":
	{
		"speaker": "goldie",
		"name": "Goldie",
		"text": "Welcome back!",
		"emotion": "joy",
		"intensity": 0.45,
	},
	"options":
	[
		{"text": "What is for supper tonight?", "intent": "ask"},
		{"text": "I grew up by the sea.", "intent": "share"},
		{"text": "I should be going now.", "intent": "leave"},
	],
	"sentiment": "positive",
	"affinity": {"value": 57, "delta": 3, "reason": "friendly; bonding arc"},
	"goal": {"id": "build_trust", "progress": 0.4, "completed": false, "reason": "opened up"},
	"provider": "embedded",
	"ended": false,
}


func test_a_say_reply_reads_into_typed_properties() -> void:
	var reply: Reply = Reply.succeeded(7, SAY_RESULT)
	check(reply.ok and reply.error == null, "ok")
	check_eq(reply.line.speaker, "goldie", "line.speaker")
	check_eq(reply.line.name, "Goldie", "line.name")
	check_eq(reply.line.text, "Welcome back!", "line.text")
	check_eq(reply.line.emotion, "joy", "line.emotion")
	check_eq(reply.line.intensity, 0.45, "line.intensity")
	check_eq(reply.text(), "Welcome back!", "text() is the line's text")
	check_eq(reply.options.size(), 3, "three options")
	var intents: Array = reply.options.map(func(o: Option) -> String: return o.intent)
	check_eq(intents, ["ask", "share", "leave"], "intents in order")
	var indexes: Array = reply.options.map(func(o: Option) -> int: return o.index)
	check_eq(indexes, [0, 1, 2], "indexes")
	check_eq(reply.options[1].text, "I grew up by the sea.", "option text")
	check_eq(reply.affinity.value, 57, "affinity.value")
	check_eq(reply.affinity.delta, 3, "affinity.delta")
	check_eq(reply.affinity.reason, "friendly; bonding arc", "affinity.reason")
	check_eq(reply.goal.id, "build_trust", "goal.id")
	check_eq(reply.goal.progress, 0.4, "goal.progress")
	check_eq(reply.goal.completed, false, "goal.completed")
	check_eq(reply.goal.reason, "opened up", "goal.reason")
	check_eq(reply.goal.description, "", "a turn's goal has no description")
	check_eq(reply.ended, false, "ended")
	check_eq(reply.provider, "embedded", "provider")


func test_missing_fields_are_empty_never_null() -> void:
	var bare: Reply = Reply.succeeded(1, {"conversation": "c_1"})
	check(bare.line != null and bare.line.is_empty(), "an empty line, not null")
	check_eq(bare.line.emotion, "", "no emotion")
	check_eq(bare.line.intensity, 0.0, "no intensity")
	check(bare.options.is_empty(), "no options")
	check(bare.affinity == null, "no affinity")
	check(bare.goal == null, "no goal (the protocol's nil)")
	check_eq(bare.ended, false, "not ended")
	check_eq(bare.provider, "", "no provider")
	var failed: Reply = Reply.failed(2, ParleyErr.TIMEOUT, "slow")
	check(not failed.ok and failed.line.is_empty() and failed.options.is_empty(), "a failure")
	check_eq(failed.error_code(), ParleyErr.TIMEOUT, "its code")
	var nil_goal: Reply = Reply.succeeded(3, {"goal": null, "ended": true})
	check(nil_goal.goal == null and nil_goal.ended, "goal nil, ended true")


func test_mistyped_fields_count_as_missing() -> void:
	# The protocol never coerces ("5" is not 5), and neither do the typed results.
	var odd: Dictionary = {
		"line": {"text": 5, "name": "Goldie", "intensity": "high", "emotion": null},
		"options": [{"text": "Hi", "intent": "ask"}, "not a map", {"text": "Bye"}],
		"affinity": {"value": "57", "delta": 2.0},
		"ended": "yes",
		"provider": 1,
	}
	var reply: Reply = Reply.succeeded(4, odd)
	check_eq(reply.line.text, "", "a number is not a text")
	check_eq(reply.line.name, "Goldie", "the good field is kept")
	check_eq(reply.line.intensity, 0.0, "a string is not an intensity")
	check_eq(reply.options.size(), 2, "the non-map option is skipped")
	# The index stays the sidecar's place, which is what conversation.choose takes.
	check_eq(reply.options[1].index, 2, "the third item keeps index 2")
	check_eq(reply.options[1].intent, "", "no intent sent")
	check_eq(reply.affinity.value, 0, "a string is not a value")
	check_eq(reply.affinity.delta, 2, "a whole float is read as an int")
	check_eq(reply.ended, false, "only true ends")
	check_eq(reply.provider, "", "a number is not a provider")


func test_setting_result_reads_it_again() -> void:
	var reply: Reply = Reply.succeeded(5, {})
	reply.result = SAY_RESULT
	check_eq(reply.line.text, "Welcome back!", "re-read")
	check_eq(reply.options.size(), 3, "options re-read")


func test_line_round_trip_and_goal_fields() -> void:
	var line: Line = Line.from_dict(SAY_RESULT["line"])
	check_eq(line.to_dict(), SAY_RESULT["line"], "to_dict gives the protocol's map back")
	var goal: Goal = Goal.from_dict(
		{"id": "ask_favor", "description": "Ask for help", "progress": 1, "completed": true}
	)
	check_eq(goal.description, "Ask for help", "description (goal.set / goal.status)")
	check_eq(goal.progress, 1.0, "an int progress is read as a float")
	check(goal.completed, "completed")


func test_memories_read_typed_and_mistyped_fields_count_as_missing() -> void:
	var heard: Dictionary = {
		"id": 7,
		"text": "The player promised to bring me a trout.",
		"kind": "promise",
		"importance": 8,
		"at": 1764700000.5,
		"source": {"conversation": "c-1", "seq": 4},
		"told_by": "goldie",
	}
	var odd: Dictionary = {
		"id": "7", "text": 3, "importance": 2.5, "source": "c-1", "told_by": null
	}
	var reply: Reply = Reply.succeeded(6, {"memories": [heard, "not a map", odd]})
	check_eq(reply.memories.size(), 2, "the non-map memory is skipped")
	var memory: Memory = reply.memories[0]
	check_eq([memory.id, memory.kind, memory.importance], [7, "promise", 8], "id, kind, importance")
	check_eq([memory.conversation, memory.seq, memory.told_by], ["c-1", 4, "goldie"], "its source")
	check_eq(memory.at, 1764700000.5, "when")
	var bad: Memory = reply.memories[1]
	check_eq([bad.id, bad.text, bad.importance], [0, "", 0], "a string id, a number text, 2.5")
	check_eq([bad.conversation, bad.seq, bad.told_by], ["", -1, ""], "no source map, no teller")
	var added: Reply = Reply.succeeded(7, {"memory": heard})
	check_eq(added.memories.size(), 1, "memory.add's one memory")
