extends SceneTree
## What the addon costs in the game's frame, measured (never asserted) in a headless Godot
## against the real sidecar (the repository's Python one, embedded engine):
##
##     $GODOT_BIN --headless --path godot_addon --script res://benchmarks/frame_cost.gd
##
## ([code]make bench-godot[/code]). Prints one [code]BENCH name: figures[/code] line each:
## - [code]process_idle_us[/code]: the Parley autoload's [code]_process[/code] (sidecar
##   process poll + connection poll) per frame, connected and idle;
## - [code]process_streaming_us[/code]: the same on the frames while a streamed turn is in
##   flight, and [code]process_bytes_us[/code] on those of them that read a line piece;
## - [code]msgpack_decode_2kib_us[/code]: msgpack.gd decoding a 2,048-byte reply;
## - [code]reply_to_finished_us[/code]: from the start of the frame's poll that reads a
##   reply's bytes to the turn's [code]finished[/code] signal, and how many frames later.
## Medians and p99s of per-frame samples ([code]Time.get_ticks_usec[/code], 1 µs
## resolution). The autoload's own processing is switched off and its
## [code]_process[/code] is called by this loop once a frame, so each call is timed alone.
## Figures depend on the machine and on what else runs on it.

const ParleyScript := preload("res://addons/parley/parley.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const MsgpackScript := preload("res://addons/parley/net/msgpack.gd")
const ProcessScript := preload("res://addons/parley/sidecar_process.gd")
const TurnScript := preload("res://addons/parley/api/turn.gd")
const ParleyTest := preload("res://tests/test_parley.gd")

## Frames sampled while idle, and at least as many while streaming.
const FRAMES := 1000
const DECODES := 2000
## A game's frame rate (not a headless loop spinning a core the sidecar needs too).
const MAX_FPS := 240
const PERSONA := "goldie"
const LINES: Array[String] = [
	"Tell me about the village.",
	"What do you do all day?",
	"Any news from the road?",
	"What is the best thing on the menu?",
	"Who else lives around here?",
]
## The whole run never takes longer than this.
const WATCHDOG_S := 240.0

var parley: ParleyScript = null
var _frame_started_us: int = 0
var _turn_busy: bool = false
var _turns: int = 0
var _pieces: int = 0
var _finished_us: Array[int] = []
var _finished_frames: Array[int] = []
var _poll_frame: int = 0
var _last_reply: ReplyScript = null


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	create_timer(WATCHDOG_S, true, false, true).timeout.connect(_on_watchdog_timeout)
	# The dev project's own autoload would start a second sidecar.
	var autoload: Node = root.get_node_or_null("Parley")
	if autoload != null:
		autoload.call("stop")
		root.remove_child(autoload)
		autoload.queue_free()
	Engine.max_fps = MAX_FPS
	var version: Dictionary = Engine.get_version_info()
	print(
		(
			"BENCH godot: %s (%s), %d logical cores, max_fps %d, headless"
			% [
				version.get("string", "?"),
				OS.get_processor_name(),
				OS.get_processor_count(),
				MAX_FPS
			]
		)
	)
	_bench_msgpack()
	parley = ParleyTest.make_parley(self, "bench")
	parley.set_process(false)
	if not parley.start():
		_fail("the sidecar did not start")
		return
	while not parley.is_ready():
		await _frame()
		if parley.process.state == ProcessScript.State.FAILED:
			_fail("the sidecar failed")
			return
	_turn(LINES[0])  # a warm-up turn: the first one loads what the sidecar loads lazily
	while _turn_busy:
		await _frame()
	if _last_reply == null or not _last_reply.ok:
		_fail("the first turn failed: %s" % _last_reply)
		return
	_finished_us.clear()
	_finished_frames.clear()
	_turns = 0
	await _bench_idle()
	await _bench_streaming()
	parley.stop()
	parley.queue_free()
	quit(0)


func _bench_msgpack() -> void:
	var reply: Dictionary = _reply_of_size(2048)
	var bytes: PackedByteArray = MsgpackScript.encode(reply).bytes
	var samples: Array[int] = []
	for _i: int in DECODES:
		var started: int = Time.get_ticks_usec()
		var decoded: MsgpackScript.Result = MsgpackScript.decode(bytes)
		samples.append(Time.get_ticks_usec() - started)
		if not decoded.ok:
			_fail("the 2 KiB reply did not decode: %s" % decoded.message)
			return
	_report("msgpack_decode_2kib_us", samples, "bytes=%d" % bytes.size())


func _bench_idle() -> void:
	var samples: Array[int] = []
	while samples.size() < FRAMES:
		samples.append(await _timed_frame())
	_report("process_idle_us", samples, "")


func _bench_streaming() -> void:
	var streaming: Array[int] = []
	var with_bytes: Array[int] = []
	var deadline: int = Time.get_ticks_msec() + int(WATCHDOG_S * 500.0)
	while streaming.size() < FRAMES and Time.get_ticks_msec() < deadline:
		if not _turn_busy:
			_turn(LINES[_turns % LINES.size()])
		var pieces_before: int = _pieces
		var busy_before: bool = _turn_busy
		var cost: int = await _timed_frame()
		if busy_before:
			streaming.append(cost)
			if _pieces > pieces_before:
				with_bytes.append(cost)
	while _turn_busy:
		await _timed_frame()
	_report("process_streaming_us", streaming, "turns=%d" % _turns)
	_report("process_bytes_us", with_bytes, "frames that read a line piece")
	_report(
		"reply_to_finished_us",
		_finished_us,
		"frames later: max %d" % (_finished_frames.max() if not _finished_frames.is_empty() else -1)
	)


## One streamed turn ([method Parley.stream]), not awaited by the sampling loop: its
## [signal ParleyTurn.finished] is timed from the start of the poll that read the reply.
func _turn(text: String) -> void:
	_turn_busy = true
	_turns += 1
	var turn: TurnScript = parley.stream(PERSONA, text)
	turn.delta.connect(func(_piece: String) -> void: _pieces += 1)
	turn.finished.connect(_on_turn_finished)
	var reply: ReplyScript = await turn.done()
	_last_reply = reply
	if not reply.ok:
		print("BENCH note: a turn failed (%s); starting a new conversation" % reply.error_code())
		await parley.end_conversation(PERSONA)
	_turn_busy = false


func _on_turn_finished(_reply: ReplyScript) -> void:
	_finished_us.append(Time.get_ticks_usec() - _frame_started_us)
	_finished_frames.append(Engine.get_process_frames() - _poll_frame)


func _timed_frame() -> int:
	await process_frame
	_poll_frame = Engine.get_process_frames()
	_frame_started_us = Time.get_ticks_usec()
	parley.call("_process", 1.0 / MAX_FPS)
	return Time.get_ticks_usec() - _frame_started_us


func _frame() -> void:
	await _timed_frame()


## A reply map as the sidecar sends for a turn, its line padded so the whole encodes to
## [param size] bytes.
static func _reply_of_size(size: int) -> Dictionary:
	var reply: Dictionary = {
		"id": 4242,
		"ok": true,
		"result":
		{
			"conversation": "c_1f2e3d4c5b6a",
			"line":
			{
				"speaker": "goldie",
				"name": "Goldie",
				"text": "",
				"emotion": "joy",
				"intensity": 0.45,
			},
			"options":
			[
				{"text": "Tell me more about the harvest fair.", "intent": "ask"},
				{"text": "I grew up in a village like this one.", "intent": "share"},
				{"text": "I should be going.", "intent": "leave"},
			],
			"affinity": {"value": 57, "delta": 2, "reason": "friendly; bonding arc"},
			"goal": {"id": "build_trust", "progress": 0.4, "completed": false, "reason": "warm"},
			"sentiment": "positive",
			"provider": "embedded",
			"ended": false,
		},
	}
	var words: String = "Well met, traveller! The fair is on the green this year. "
	var text: String = ""
	while true:
		reply["result"]["line"]["text"] = text
		var now: int = MsgpackScript.encode(reply).bytes.size()
		if now >= size:
			break
		text += words.substr(0, mini(words.length(), size - now))
	return reply


static func _report(name: String, samples: Array[int], extra: String) -> void:
	if samples.is_empty():
		print("BENCH %s: no samples %s" % [name, extra])
		return
	var sorted: Array[int] = samples.duplicate()
	sorted.sort()
	var median: int = sorted[int(sorted.size() / 2.0)]
	var p99: int = sorted[mini(sorted.size() - 1, int(ceil(sorted.size() * 0.99)) - 1)]
	print(
		(
			"BENCH %s: median %d p99 %d max %d (n=%d) %s"
			% [name, median, p99, sorted[-1], sorted.size(), extra]
		)
	)


func _fail(why: String) -> void:
	print("BENCH failed: %s" % why)
	if parley != null:
		parley.stop()
	quit(1)


func _on_watchdog_timeout() -> void:
	_fail("the run did not finish within %d s" % WATCHDOG_S)
