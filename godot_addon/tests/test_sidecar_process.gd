extends "res://tests/test_case.gd"
## sidecar_process.gd with real child processes: what it hands the child (token in the
## environment, never in argv; --parent-pid; absolute folders), the ready line, and how it
## gives up on a child that keeps dying or speaks another protocol.

const Proc := preload("res://addons/parley/sidecar_process.gd")

var _proc: Proc = null
var _failed: PackedStringArray = PackedStringArray()
var _ready_seen: Array = []


func after_each() -> void:
	if _proc != null:
		_proc.stop()
	_proc = null  # its signals hold lambdas that hold this suite: break the cycle


func test_token_goes_through_the_environment_not_argv() -> void:
	_make("echo")
	check(_proc.start(), "start")
	var up: bool = await wait_until(
		func() -> bool: return not _ready_seen.is_empty(), 30.0, _proc.poll
	)
	if not check(up, "ready line seen (stderr %s, failed %s)" % [_proc.stderr_tail, _failed]):
		return
	check_eq(_ready_seen[0][0], "tcp://127.0.0.1:9", "endpoint from the ready line")
	check_eq(_ready_seen[0][1], _proc.token, "the token handed on")
	check_eq(_proc.token.length(), 64, "32 random bytes, hex")
	check(OS.get_environment("PARLEY_TOKEN").is_empty(), "not left in our environment")
	# The fake sidecar reports what it received.
	var seen: Dictionary = _proc.last_ready_line
	check_eq(seen.get("token"), _proc.token, "the child got it as PARLEY_TOKEN")
	var argv: Array = seen.get("argv", [])
	check(not _proc.token in argv, "and not on its command line")
	var at: int = argv.find("--parent-pid")
	check(at >= 0 and argv[at + 1] == str(OS.get_process_id()), "--parent-pid is our pid")
	var data_at: int = argv.find("--data-dir")
	check(data_at >= 0 and str(argv[data_at + 1]).is_absolute_path(), "absolute data dir")
	check(DirAccess.dir_exists_absolute(str(argv[data_at + 1])), "data dir created")
	var pid: int = _proc.pid
	_proc.stop()
	var gone: bool = await wait_until(func() -> bool: return not OS.is_process_running(pid), 10.0)
	check(gone, "stop() ends the child")


func test_a_child_that_keeps_dying_is_given_up() -> void:
	_make("die")
	_proc.max_failures = 3
	_proc.restart_delay_min_s = 0.05
	check(_proc.start(), "start")
	var gave_up: bool = await wait_until(
		func() -> bool: return not _failed.is_empty(), 30.0, _proc.poll
	)
	check(gave_up, "failed was emitted")
	check_eq(_proc.starts, 3, "tried exactly max_failures times")
	check_eq(_proc.state, Proc.State.FAILED, "and stays stopped")
	if gave_up:
		check("dying on purpose" in _failed[0], "the reason quotes its stderr: %s" % _failed[0])


func test_another_protocol_version_is_refused() -> void:
	_make("bad-protocol")
	check(_proc.start(), "start")
	var gave_up: bool = await wait_until(
		func() -> bool: return not _failed.is_empty(), 30.0, _proc.poll
	)
	check(gave_up, "failed")
	check(_ready_seen.is_empty(), "never reported ready")
	if gave_up:
		check("protocol 99" in _failed[0], _failed[0])


func test_a_missing_program_fails_cleanly() -> void:
	_proc = Proc.new()
	_proc.failed.connect(func(reason: String) -> void: _failed.append(reason))
	_proc.program_override = "/nonexistent/parley-sidecar"
	_proc.max_failures = 2
	_proc.restart_delay_min_s = 0.05
	_proc.data_dir = "user://proc-test-missing"
	_proc.start()
	var gave_up: bool = await wait_until(
		func() -> bool: return not _failed.is_empty(), 30.0, _proc.poll
	)
	check(gave_up, "failed was emitted")


func test_paths_given_to_the_child_are_absolute() -> void:
	check(Proc.absolute_path("user://x").is_absolute_path(), "user://")
	check(Proc.absolute_path("res://personas").is_absolute_path(), "res://")
	check_eq(Proc.absolute_path("/tmp/p"), "/tmp/p", "absolute stays")
	var rel: String = Proc.absolute_path("../personas")
	check_eq(rel, repo_path("personas"), "relative to the project folder")
	check(Proc.platform_dir().contains("-"), "os-arch: %s" % Proc.platform_dir())


func _make(mode: String) -> void:
	_proc = Proc.new()
	_proc.failed.connect(func(reason: String) -> void: _failed.append(reason))
	_proc.became_ready.connect(
		func(endpoint: String, token: String) -> void: _ready_seen.append([endpoint, token])
	)
	var script: String = ProjectSettings.globalize_path("res://tests/helpers/fake_sidecar.py")
	_proc.program_override = python()
	_proc.extra_args = PackedStringArray()
	_proc.data_dir = "user://proc-test-%d" % Time.get_ticks_usec()
	_proc.prefix_args = PackedStringArray([script, mode])
