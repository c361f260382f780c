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


func test_the_packaged_binary_is_preferred_said_and_exposed() -> void:
	# A stand-in "packaged binary" (a shell script running the fake sidecar) in a folder the
	# process searches; the Python fallback is configured too but must not be used.
	var dir: String = _temp_dir("bin")
	var exe: String = dir.path_join(Proc.BINARY_NAME)
	_write_exe(exe, "echo")
	_proc = _bare()
	_proc.binary_search_dirs = PackedStringArray([dir])
	_proc.python_command = "%s -c 'raise SystemExit(9)'" % python()
	_proc.personas_dir = ""  # no --personas: the sidecar's own default personas
	var launches: Array = []
	_proc.launched.connect(
		func(kind: String, cmd: PackedStringArray) -> void: launches.append([kind, cmd])
	)
	check_eq(_proc.resolve_kind(), Proc.KIND_PACKAGED, "resolve_kind before the start")
	var logger: RefCounted = _capture_prints()
	check(_proc.start(), "start")
	var up: bool = await wait_until(
		func() -> bool: return not _ready_seen.is_empty(), 30.0, _proc.poll
	)
	_stop_capture(logger)
	if not check(up, "ready (stderr %s, failed %s)" % [_proc.stderr_tail, _failed]):
		return
	check_eq(_proc.launch_kind, Proc.KIND_PACKAGED, "launch_kind")
	check_eq(_proc.launch_command[0], exe, "launch_command[0] is the binary")
	check_eq(launches.size(), 1, "one launched signal")
	if launches.size() == 1:
		check_eq(launches[0][0], Proc.KIND_PACKAGED, "launched kind")
		check_eq(launches[0][1], _proc.launch_command, "launched command")
	if logger != null:
		var said: PackedStringArray = logger.call("matching", "Parley: starting")
		check_eq(said.size(), 1, "one line printed: %s" % [said])
		if said.size() == 1:
			check("packaged sidecar %s" % exe in said[0], "it names the binary: %s" % said[0])
			check(not _proc.token in said[0], "and not the token")
	var argv: Array = _proc.last_ready_line.get("argv", [])
	check(not "--personas" in argv, "empty personas_dir: no --personas (%s)" % [argv])
	check("--data-dir" in argv and "--parent-pid" in argv, "the rest is there: %s" % [argv])


func test_the_python_fallback_is_said_and_exposed() -> void:
	var script: String = ProjectSettings.globalize_path("res://tests/helpers/fake_sidecar.py")
	_proc = _bare()
	_proc.binary_search_dirs = PackedStringArray([_temp_dir("empty-bin")])  # no binary there
	_proc.allow_python_fallback = true
	_proc.python_command = "%s %s echo" % [python(), script]
	_proc.personas_dir = "res://tests/helpers"
	check_eq(_proc.resolve_kind(), Proc.KIND_PYTHON, "resolve_kind before the start")
	var logger: RefCounted = _capture_prints()
	check(_proc.start(), "start")
	var up: bool = await wait_until(
		func() -> bool: return not _ready_seen.is_empty(), 30.0, _proc.poll
	)
	_stop_capture(logger)
	if not check(up, "ready (stderr %s, failed %s)" % [_proc.stderr_tail, _failed]):
		return
	check_eq(_proc.launch_kind, Proc.KIND_PYTHON, "launch_kind")
	check_eq(_proc.launch_command.slice(0, 3), PackedStringArray([python(), script, "echo"]), "cmd")
	if logger != null:
		var said: PackedStringArray = logger.call("matching", "Parley: starting")
		check_eq(said.size(), 1, "one line printed: %s" % [said])
		if said.size() == 1:
			var want: String = "Python fallback `%s %s echo`" % [python(), script]
			check(want in said[0], "it names the command: %s" % said[0])
			check("no packaged binary for %s" % Proc.platform_dir() in said[0], "and why")
	var argv: Array = _proc.last_ready_line.get("argv", [])
	var at: int = argv.find("--personas")
	check(
		at >= 0 and argv[at + 1] == ProjectSettings.globalize_path("res://tests/helpers"),
		"a res:// personas_dir goes as the project folder's path: %s" % [argv]
	)


func test_no_binary_and_no_fallback_fails_saying_so() -> void:
	_proc = _bare()
	_proc.binary_search_dirs = PackedStringArray([_temp_dir("empty-bin")])
	_proc.allow_python_fallback = false
	check_eq(_proc.resolve_kind(), "", "nothing to run")
	check(not _proc.start(), "start refuses")
	check_eq(_proc.state, Proc.State.FAILED, "failed state")
	check(not _failed.is_empty() and "no sidecar binary" in _failed[0], "reason: %s" % [_failed])
	check_eq(_proc.launch_kind, "", "nothing launched")


func test_res_paths_of_an_exported_game_come_from_the_game_folder() -> void:
	# This run is a project folder (editor, or a template with --path): not an export.
	check(OS.has_feature("editor") != OS.has_feature("template"), "editor xor template build")
	check(not Proc.is_exported(), "a project folder run is not an export")
	check_eq(
		Proc.absolute_path("res://personas"),
		ProjectSettings.globalize_path("res://personas"),
		"res:// is the project folder here"
	)
	# An exported game: res:// is a pack; the export plugin put the folders by the executable.
	var game: String = "/games/thimbleford"
	check_eq(
		Proc.resolve_path("res://personas", true, game), game + "/personas", "res:// -> game dir"
	)
	check_eq(
		Proc.resolve_path("res://npc/people", true, game), game + "/npc/people", "nested res://"
	)
	check_eq(Proc.resolve_path("../personas", true, game), "/games/personas", "relative")
	check_eq(Proc.resolve_path("/srv/p", true, game), "/srv/p", "absolute stays")
	check_eq(
		Proc.resolve_path("user://parley", true, game),
		ProjectSettings.globalize_path("user://parley"),
		"user:// is the user data folder in both"
	)
	check_eq(Proc.resolve_path("", true, game), "", "empty stays empty")
	check_eq(
		Proc.resolve_path("res://personas", false, game),
		ProjectSettings.globalize_path("res://personas"),
		"not exported: globalized"
	)
	# Exported: the addon's res:// folder is not searched for the binary, the game folder is.
	var dirs: PackedStringArray = Proc.packaged_search_dirs()
	check_eq(
		dirs[dirs.size() - 1],
		Proc.game_dir().path_join("parley/bin/" + Proc.platform_dir()),
		"last"
	)


func _bare() -> Proc:
	var proc: Proc = Proc.new()
	proc.failed.connect(func(reason: String) -> void: _failed.append(reason))
	proc.became_ready.connect(
		func(endpoint: String, token: String) -> void: _ready_seen.append([endpoint, token])
	)
	proc.data_dir = "user://proc-test-%d" % Time.get_ticks_usec()
	return proc


func _temp_dir(tag: String) -> String:
	var dir: String = ProjectSettings.globalize_path(
		"user://proc-test-%s-%d-%d" % [tag, OS.get_process_id(), Time.get_ticks_usec()]
	)
	DirAccess.make_dir_recursive_absolute(dir)
	return dir


## An executable shell script at [param path] that runs the fake sidecar in [param mode].
func _write_exe(path: String, mode: String) -> void:
	var script: String = ProjectSettings.globalize_path("res://tests/helpers/fake_sidecar.py")
	var f: FileAccess = FileAccess.open(path, FileAccess.WRITE)
	f.store_string('#!/bin/sh\nexec "%s" "%s" %s "$@"\n' % [python(), script, mode])
	f.close()
	var bits: int = (
		FileAccess.UNIX_READ_OWNER
		| FileAccess.UNIX_WRITE_OWNER
		| FileAccess.UNIX_EXECUTE_OWNER
		| FileAccess.UNIX_READ_GROUP
		| FileAccess.UNIX_EXECUTE_GROUP
	)
	FileAccess.set_unix_permissions(path, bits)


## Starts keeping printed lines (Godot 4.5+ Logger), or null on an engine without Logger.
func _capture_prints() -> RefCounted:
	if not ClassDB.class_exists(&"Logger"):
		return null
	var logger_script: GDScript = load("res://tests/helpers/capture_logger.gd")
	var logger: RefCounted = logger_script.new()
	OS.call("add_logger", logger)
	return logger


func _stop_capture(logger: RefCounted) -> void:
	if logger != null:
		OS.call("remove_logger", logger)


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
