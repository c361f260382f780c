class_name ParleySidecarProcess
extends RefCounted
## Starts, watches, restarts and stops the Parley sidecar process.
##
## Which program runs: the packaged sidecar for this OS and CPU,
## [code]addons/parley/bin/<os>-<arch>/parley-sidecar[/code] (".exe" on Windows; a PyInstaller
## one-folder build [code].../parley-sidecar/parley-sidecar[/code] is found too), or, next to
## an exported game, [code]<game dir>/parley/bin/<os>-<arch>/...[/code]. When there is none,
## the editor and debug builds fall back to [member python_command] (default
## [code]python -m sidecar[/code]); a release export without the binary fails cleanly with
## [signal failed]. Every start says which it ran: a line on the output
## ([code]Parley: starting the packaged sidecar /path/...[/code] or
## [code]Parley: starting the sidecar with the Python fallback `python -m sidecar` ...[/code]),
## [member launch_kind] / [member launch_command], and [signal launched].
##
## Paths from the settings ([member data_dir], [member personas_dir], [member config_path]) go
## to the child as absolute paths. In an exported game, [code]res://[/code] is inside the
## .pck, which another process cannot read: there a [code]res://x[/code] path is taken as
## [code]<folder of the game executable>/x[/code], where the export plugin copies the persona
## folder (see [method is_exported]). An empty [member personas_dir] passes no
## [code]--personas[/code]: the sidecar then serves the default personas it carries.
##
## How: [method OS.execute_with_pipe] (non-blocking) gives the child's stdout and stderr as
## pipes. A fresh random token ([Crypto]) goes to the child in the [code]PARLEY_TOKEN[/code]
## environment variable (set just around the start, then removed); the child prints one JSON
## line [code]{"event": "ready", "endpoint": ..., "protocol": 1, "pid": ...}[/code] on stdout
## when it listens. Stderr is drained every poll (a full pipe would block the child) and its
## last lines are kept for error messages. The child gets [code]--parent-pid[/code] so it
## ends itself if the game is killed; [method stop] ends it when the game quits. If it dies,
## it is restarted with a growing delay; after [member max_failures] starts in a row that
## never became ready, [signal failed] is emitted and it is left stopped.

## The sidecar printed its ready line: it listens at [param endpoint] and expects
## [param token].
signal became_ready(endpoint: String, token: String)
## The sidecar process ended unexpectedly (it will be restarted unless it keeps failing).
signal exited(exit_code: int)
## The sidecar cannot be started or kept running; [param reason] says why.
signal failed(reason: String)
## A sidecar process was just created: [param kind] is [constant KIND_PACKAGED],
## [constant KIND_PYTHON] or [constant KIND_OVERRIDE]; [param command] is the program and its
## arguments (the token is never among them).
signal launched(kind: String, command: PackedStringArray)

enum State { STOPPED, STARTING, RUNNING, WAITING_RESTART, FAILED }

## Protocol version this addon speaks.
const PROTOCOL := 1
const STDERR_KEEP_LINES := 40
const BINARY_NAME := "parley-sidecar"
## [member launch_kind] values: the packaged binary, the Python fallback
## ([member python_command]), an explicit [member program_override].
const KIND_PACKAGED := "packaged"
const KIND_PYTHON := "python"
const KIND_OVERRIDE := "override"

## Full command of the Python fallback, split on spaces; a first word containing "/" is
## resolved against the project folder (e.g. "../.venv/bin/python -m sidecar").
var python_command: String = "python -m sidecar"
## Use [member python_command] when no packaged binary exists. Defaults to true in the editor
## and in debug builds.
var allow_python_fallback: bool = OS.has_feature("editor") or OS.is_debug_build()
## Always run [member python_command], even when a packaged binary exists (for working on the
## sidecar itself, or testing it from source).
var use_python: bool = false
## Explicit program path (skips the search for a packaged binary).
var program_override: String = ""
## Folders to look in for the packaged sidecar instead of the default places (each holds
## [code]parley-sidecar[/code] or a one-folder [code]parley-sidecar/parley-sidecar[/code]);
## empty = [method packaged_search_dirs].
var binary_search_dirs: PackedStringArray = PackedStringArray()
## Arguments placed before "serve" when [member program_override] is used (e.g. a script).
var prefix_args: PackedStringArray = PackedStringArray()
var data_dir: String = "user://parley"
## Persona folder; "" = no [code]--personas[/code] (the sidecar's own default personas).
var personas_dir: String = "res://personas"
## Provider configuration file ("" = none, the embedded engine only).
var config_path: String = ""
var endpoint_spec: String = "tcp://127.0.0.1:0"
var extra_args: PackedStringArray = PackedStringArray()
## Seconds to wait for the ready line before the start counts as failed.
var ready_timeout_s: float = 20.0
## Consecutive starts that never became ready before giving up.
var max_failures: int = 5
var restart_delay_min_s: float = 0.25
var restart_delay_max_s: float = 8.0
## Print which sidecar is started (one line per start).
var announce: bool = true

var state: State = State.STOPPED
var pid: int = -1
var endpoint: String = ""
var token: String = ""
## The parsed ready line of the current process (empty before it arrives).
var last_ready_line: Dictionary = {}
## The last lines the sidecar wrote on stderr (for error messages).
var stderr_tail: PackedStringArray = PackedStringArray()
## How many times the process was (re)started.
var starts: int = 0
## Which sidecar the last start ran: [constant KIND_PACKAGED], [constant KIND_PYTHON] or
## [constant KIND_OVERRIDE] ("" before the first start).
var launch_kind: String = ""
## The program and arguments of the last start (the packaged binary's absolute path, or the
## Python fallback's command), empty before the first start.
var launch_command: PackedStringArray = PackedStringArray()

var _stdio: FileAccess = null
var _stderr: FileAccess = null
# Pipes of ended processes. Godot's Unix stderr pipe closes file descriptor 0 when it is
# freed (it stores 0 as its write end), which could close an unrelated descriptor that
# reused number 0; keeping them until the game exits avoids that.
var _retired_pipes: Array[FileAccess] = []
# Killed processes not yet reaped (is_process_running() reaps them; no zombies are left).
var _reaping: PackedInt64Array = PackedInt64Array()
var _stdout_text: String = ""
var _stderr_text: String = ""
var _started_ms: int = 0
var _restart_at_ms: int = 0
var _failures: int = 0
var _delay_s: float = 0.25


## Starts the sidecar (if not already running). Returns false and emits [signal failed] if
## no program can be found or the process cannot be created.
func start() -> bool:
	if state == State.STARTING or state == State.RUNNING:
		return true
	_failures = 0
	_delay_s = restart_delay_min_s
	return _spawn()


## Stops the sidecar and any restart. Safe to call at any time, more than once.
func stop() -> void:
	_kill()
	state = State.STOPPED


## True while the child process exists.
func is_running() -> bool:
	return pid > 0 and OS.is_process_running(pid)


## The program and arguments that would be run, or an empty array if none is usable.
func resolve_command() -> PackedStringArray:
	return _choose()[1]


## Which sidecar would be started ([constant KIND_PACKAGED], [constant KIND_PYTHON],
## [constant KIND_OVERRIDE]), or "" when none is usable.
func resolve_kind() -> String:
	return _choose()[0]


# [kind, command]: the program to run and how it was chosen.
func _choose() -> Array:
	var kind: String = KIND_OVERRIDE
	var program: String = program_override
	var args := PackedStringArray(prefix_args if not program.is_empty() else [])
	if program.is_empty() and not use_python:
		kind = KIND_PACKAGED
		program = find_packaged_binary(binary_search_dirs)
	if program.is_empty() and (allow_python_fallback or use_python):
		var words: PackedStringArray = python_command.strip_edges().split(" ", false)
		if words.is_empty():
			return ["", PackedStringArray()]
		kind = KIND_PYTHON
		program = _resolve_program(words[0])
		args = words.slice(1)
	if program.is_empty():
		return ["", PackedStringArray()]
	args.append_array(["serve", "--data-dir", absolute_path(data_dir)])
	if not personas_dir.strip_edges().is_empty():
		args.append_array(["--personas", absolute_path(personas_dir.strip_edges())])
	args.append_array(["--endpoint", endpoint_spec, "--parent-pid", str(OS.get_process_id())])
	if not config_path.is_empty():
		args.append_array(["--config", absolute_path(config_path)])
	args.append_array(extra_args)
	var cmd := PackedStringArray([program])
	cmd.append_array(args)
	return [kind, cmd]


## Reads output, notices a dead process, restarts with backoff. Call once per frame.
func poll() -> void:
	_reap()
	match state:
		State.STARTING, State.RUNNING:
			_drain()
			if state == State.STARTING and not endpoint.is_empty():
				state = State.RUNNING
				_failures = 0
				_delay_s = restart_delay_min_s
				became_ready.emit(endpoint, token)
			if not OS.is_process_running(pid):
				_drain()
				var code: int = OS.get_process_exit_code(pid)
				var was_ready: bool = state == State.RUNNING
				_retire()
				exited.emit(code)
				_after_death("the sidecar exited with code %d" % code, was_ready)
			elif state == State.STARTING:
				var waited_s: float = (Time.get_ticks_msec() - _started_ms) / 1000.0
				if waited_s > ready_timeout_s:
					_kill()
					_after_death("no ready line within %.0f s" % ready_timeout_s, false)
		State.WAITING_RESTART:
			if Time.get_ticks_msec() >= _restart_at_ms:
				_spawn()


## The directory of the packaged sidecar for this platform: "linux-x86_64", "windows-x86_64",
## "macos-arm64", ...
static func platform_dir() -> String:
	var os_name: String = OS.get_name().to_lower()  # "windows", "macos", "linux", "freebsd"
	return "%s-%s" % [os_name, Engine.get_architecture_name()]


## Where the packaged sidecar is looked for, in order: the addon's
## [code]bin/<os>-<arch>/[/code] (not in an exported game: res:// is a pack there), then
## [code]<game folder>/parley/bin/<os>-<arch>/[/code] (where the export plugin puts it).
static func packaged_search_dirs() -> PackedStringArray:
	var sub: String = "bin/%s" % platform_dir()
	var roots := PackedStringArray()
	if not is_exported():
		roots.append(ProjectSettings.globalize_path("res://addons/parley").path_join(sub))
	roots.append(game_dir().path_join("parley").path_join(sub))
	return roots


## Path of the packaged sidecar binary in [param dirs] (default:
## [method packaged_search_dirs]), or "" when there is none.
static func find_packaged_binary(dirs: PackedStringArray = PackedStringArray()) -> String:
	var exe: String = BINARY_NAME + (".exe" if OS.get_name() == "Windows" else "")
	var roots: PackedStringArray = dirs if not dirs.is_empty() else packaged_search_dirs()
	for root: String in roots:
		for candidate: String in [root.path_join(exe), root.path_join(BINARY_NAME).path_join(exe)]:
			if FileAccess.file_exists(candidate):
				return candidate
	return ""


## Turns a setting path into one the sidecar (another process) can open: "user://" is
## globalized; "res://" too, except in an exported game, where it is taken from the game's
## folder ([method game_dir]); a relative path is taken from the project folder (the game's
## folder in an export).
static func absolute_path(path: String) -> String:
	return resolve_path(path, is_exported(), game_dir())


## [method absolute_path] with the run's nature given: [param exported] (res:// is in a pack)
## and [param game_folder] (the folder of the game executable).
static func resolve_path(path: String, exported: bool, game_folder: String) -> String:
	if path.is_empty():
		return path
	if path.begins_with("user://"):
		return ProjectSettings.globalize_path(path)
	if path.begins_with("res://"):
		if exported:
			return game_folder.path_join(path.trim_prefix("res://")).simplify_path()
		return ProjectSettings.globalize_path(path)
	if path.is_absolute_path():
		return path
	var base: String = game_folder if exported else ProjectSettings.globalize_path("res://")
	return base.path_join(path).simplify_path()


## True in an exported game: an export-template build ([code]OS.has_feature("template")[/code])
## whose [code]res://[/code] is a pack, not a folder. False in the editor and when a template
## runs a project folder ([code]--path[/code], as the tests do).
static func is_exported() -> bool:
	if OS.has_feature("editor") or not OS.has_feature("template"):
		return false
	var res_dir: String = ProjectSettings.globalize_path("res://")
	return not (res_dir.is_absolute_path() and DirAccess.dir_exists_absolute(res_dir))


## The folder of the game executable (where an export keeps parley/bin and the personas).
static func game_dir() -> String:
	return OS.get_executable_path().get_base_dir()


static func _resolve_program(word: String) -> String:
	if "/" in word or "\\" in word:
		return absolute_path(word)
	return word  # looked up on PATH by the OS


func _spawn() -> bool:
	var chosen: Array = _choose()
	var kind: String = chosen[0]
	var cmd: PackedStringArray = chosen[1]
	if cmd.is_empty():
		_give_up(
			(
				"no sidecar binary under addons/parley/bin/%s and the Python fallback is off"
				% platform_dir()
			)
		)
		return false
	var dir_err: Error = DirAccess.make_dir_recursive_absolute(absolute_path(data_dir))
	if dir_err != OK and dir_err != ERR_ALREADY_EXISTS:
		_give_up("cannot create the data folder %s (%s)" % [data_dir, error_string(dir_err)])
		return false
	token = Crypto.new().generate_random_bytes(32).hex_encode()
	endpoint = ""
	last_ready_line = {}
	_stdout_text = ""
	_stderr_text = ""
	stderr_tail = PackedStringArray()
	OS.set_environment("PARLEY_TOKEN", token)
	var proc: Dictionary = OS.execute_with_pipe(cmd[0], cmd.slice(1), false)
	OS.unset_environment("PARLEY_TOKEN")
	if proc.is_empty() or int(proc.get("pid", -1)) <= 0:
		_after_death("could not start %s" % cmd[0], false)
		return false
	pid = proc["pid"]
	_stdio = proc.get("stdio")
	_stderr = proc.get("stderr")
	_started_ms = Time.get_ticks_msec()
	starts += 1
	state = State.STARTING
	launch_kind = kind
	launch_command = cmd
	if announce:
		var why: String = (
			"parley/sidecar/use_python is on"
			if use_python
			else "no packaged binary for %s" % platform_dir()
		)
		print(describe_launch(kind, cmd, pid, why))
	launched.emit(kind, cmd)
	return true


## The line printed at each start: which sidecar, where from, which process ([param why]: why
## the Python fallback was used).
static func describe_launch(
	kind: String, cmd: PackedStringArray, child_pid: int, why: String = ""
) -> String:
	match kind:
		KIND_PACKAGED:
			return "Parley: starting the packaged sidecar %s (pid %d)" % [cmd[0], child_pid]
		KIND_PYTHON:
			var at: int = cmd.find("serve")
			var shown: String = " ".join(cmd.slice(0, at if at > 0 else cmd.size()))
			return (
				"Parley: starting the sidecar with the Python fallback `%s` (pid %d; %s)"
				% [shown, child_pid, why if not why.is_empty() else "no packaged binary used"]
			)
	return "Parley: starting the sidecar %s (pid %d)" % [cmd[0], child_pid]


func _drain() -> void:
	if _stdio != null:
		_stdout_text += _read_pipe(_stdio)
		while "\n" in _stdout_text:
			var cut: int = _stdout_text.find("\n")
			var text_line: String = _stdout_text.substr(0, cut).strip_edges()
			_stdout_text = _stdout_text.substr(cut + 1)
			_on_stdout_line(text_line)
	if _stderr != null:
		_stderr_text += _read_pipe(_stderr)
		while "\n" in _stderr_text:
			var cut: int = _stderr_text.find("\n")
			stderr_tail.append(_stderr_text.substr(0, cut))
			_stderr_text = _stderr_text.substr(cut + 1)
		if stderr_tail.size() > STDERR_KEEP_LINES:
			stderr_tail = stderr_tail.slice(stderr_tail.size() - STDERR_KEEP_LINES)


static func _read_pipe(pipe: FileAccess) -> String:
	# get_length() on a pipe is the number of bytes ready to read (FIONREAD), so this
	# never blocks, even on a pipe opened in blocking mode.
	var available: int = pipe.get_length()
	if available <= 0:
		return ""
	return pipe.get_buffer(available).get_string_from_utf8()


func _on_stdout_line(text_line: String) -> void:
	if not text_line.begins_with("{") or not endpoint.is_empty():
		return
	var json := JSON.new()  # an instance: a bad line is ignored without printing errors
	if json.parse(text_line) != OK or not json.data is Dictionary:
		return
	var msg: Dictionary = json.data
	if msg.get("event") != "ready" or not msg.get("endpoint") is String:
		return
	if int(msg.get("protocol", 0)) != PROTOCOL:
		_kill()
		_give_up(
			"the sidecar speaks protocol %s; this addon needs %d" % [msg.get("protocol"), PROTOCOL]
		)
		return
	last_ready_line = msg
	endpoint = msg["endpoint"]


func _after_death(reason: String, was_ready: bool) -> void:
	if state == State.STOPPED or state == State.FAILED:
		return
	if not was_ready:
		_failures += 1
	if _failures >= max_failures:
		var tail: String = "\n".join(stderr_tail.slice(maxi(0, stderr_tail.size() - 8)))
		_give_up("%s (%d failed starts); last output:\n%s" % [reason, _failures, tail])
		return
	state = State.WAITING_RESTART
	_restart_at_ms = Time.get_ticks_msec() + int(_delay_s * 1000.0)
	_delay_s = minf(_delay_s * 2.0, restart_delay_max_s)


func _give_up(reason: String) -> void:
	state = State.FAILED
	failed.emit(reason)


func _kill() -> void:
	if pid > 0 and OS.is_process_running(pid):
		OS.kill(pid)
		_reaping.append(pid)
	_retire()


func _reap() -> void:
	for i: int in range(_reaping.size() - 1, -1, -1):
		if not OS.is_process_running(_reaping[i]):
			_reaping.remove_at(i)


func _retire() -> void:
	if _stdio != null:
		_retired_pipes.append(_stdio)
	if _stderr != null:
		_retired_pipes.append(_stderr)
	_stdio = null
	_stderr = null
	pid = -1
	endpoint = ""
