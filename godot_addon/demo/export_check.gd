extends Node
## A headless check of the demo as an exported game: started with the user argument
## [code]--parley-check[/code] ([code]./parley-demo.x86_64 --headless -- --parley-check[/code]),
## the village adds this node, which waits for the Parley autoload's sidecar, lists the
## personas, says hello to the first one, prints one line
## [code]PARLEY_CHECK {json}[/code] (which sidecar ran, from where, the personas, the reply)
## and quits: exit code 0 when a reply came back, 1 otherwise. It never waits longer than
## [constant TIMEOUT_S].
##
## [code]tests/packaging/test_binary.py[/code] runs it on a headless export of the demo.

const ParleyScript := preload("res://addons/parley/parley.gd")
const ProcessScript := preload("res://addons/parley/sidecar_process.gd")
const Reply := preload("res://addons/parley/net/reply.gd")
const FLAG := "--parley-check"
const TIMEOUT_S := 90.0

var _report: Dictionary = {"ok": false}
var _finished: bool = false


## True when the game was started with [constant FLAG] after [code]--[/code].
static func requested() -> bool:
	return OS.get_cmdline_user_args().has(FLAG)


func _ready() -> void:
	get_tree().create_timer(TIMEOUT_S, true, false, true).timeout.connect(
		_finish.bind("no answer within %.0f s" % TIMEOUT_S)
	)
	_run.call_deferred()


func _run() -> void:
	var parley: ParleyScript = get_node_or_null("/root/Parley") as ParleyScript
	if parley == null:
		_finish("the Parley autoload is missing")
		return
	_report["exported"] = ProcessScript.is_exported()
	_report["template"] = OS.has_feature("template")
	_report["game_dir"] = ProcessScript.game_dir()
	var personas: Reply = await parley.personas()
	_report["launch_kind"] = parley.process.launch_kind
	_report["launch_command"] = Array(parley.process.launch_command)
	_report["sidecar_pid"] = int(parley.process.last_ready_line.get("pid", -1))
	if not personas.ok:
		_finish("persona.list failed: %s" % personas)
		return
	var ids: Array = personas.result.get("personas", []).map(
		func(p: Dictionary) -> String: return str(p.get("id"))
	)
	_report["personas"] = ids
	if ids.is_empty():
		_finish("no personas")
		return
	var reply: Reply = await parley.say(ids[0], "Hello! Any news today?", false)
	if not reply.ok:
		_finish("say failed: %s" % reply)
		return
	_report["persona"] = ids[0]
	_report["reply"] = reply.text()
	_report["ok"] = not reply.text().is_empty()
	_finish("" if _report["ok"] else "an empty reply")


func _finish(problem: String) -> void:
	if _finished:
		return
	_finished = true
	if not problem.is_empty():
		_report["ok"] = false
		_report["problem"] = problem
	print("PARLEY_CHECK " + JSON.stringify(_report))
	get_tree().quit(0 if _report["ok"] else 1)
