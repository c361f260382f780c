extends RefCounted
## A Python helper process for the tests (a real subprocess): started with
## [method OS.execute_with_pipe], it prints one JSON line when ready, and ends when killed
## or when its stdin closes.

# Pipes are kept until the runner exits: freeing Godot's Unix stderr pipe closes file
# descriptor 0, which a socket may have reused (see sidecar_process.gd).
static var _kept_pipes: Array[FileAccess] = []

var pid: int = -1
var ready_line: Dictionary = {}
var _stdio: FileAccess = null
var _stderr: FileAccess = null
var _out: String = ""
var _err: String = ""


## Starts [param script] (a path) with [param args] under the tests' Python.
func start(python: String, script: String, args: PackedStringArray) -> bool:
	var argv := PackedStringArray([script])
	argv.append_array(args)
	argv.append_array(["--parent-pid", str(OS.get_process_id())])
	var proc: Dictionary = OS.execute_with_pipe(python, argv, false)
	if proc.is_empty():
		return false
	pid = proc["pid"]
	_stdio = proc["stdio"]
	_stderr = proc["stderr"]
	_kept_pipes.append(_stdio)
	_kept_pipes.append(_stderr)
	return true


## Reads output; returns true once the ready line has been seen.
func poll_ready() -> bool:
	if not ready_line.is_empty():
		return true
	_out += _read(_stdio)
	_err += _read(_stderr)
	var cut: int = _out.find("\n")
	if cut >= 0:
		var json := JSON.new()
		if json.parse(_out.substr(0, cut)) == OK and json.data is Dictionary:
			ready_line = json.data
	return not ready_line.is_empty()


func endpoint() -> String:
	return str(ready_line.get("endpoint", ""))


func stderr_text() -> String:
	_err += _read(_stderr)
	return _err


func is_running() -> bool:
	return pid > 0 and OS.is_process_running(pid)


func kill() -> void:
	if pid > 0 and OS.is_process_running(pid):
		OS.kill(pid)


static func _read(pipe: FileAccess) -> String:
	if pipe == null:
		return ""
	var available: int = pipe.get_length()
	return pipe.get_buffer(available).get_string_from_utf8() if available > 0 else ""
