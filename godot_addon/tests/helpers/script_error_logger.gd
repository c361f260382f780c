extends Logger
## Counts the script errors the engine reports (a runtime error in a test, a failed
## assertion of the engine, a script that does not compile), added by run_tests.gd with
## [method OS.add_logger] (Godot 4.5+). A script error aborts the function it happens in
## without raising to the caller, so without this a test could stop half-way and still be
## counted as passed.

var count: int = 0
var last: String = ""
var _mutex: Mutex = Mutex.new()


func _log_error(
	_function: String,
	file: String,
	line: int,
	code: String,
	rationale: String,
	_editor_notify: bool,
	error_type: int,
	_script_backtraces: Array[ScriptBacktrace]
) -> void:
	if error_type != ERROR_TYPE_SCRIPT:
		return  # engine errors and warnings are not a test's own failure
	_mutex.lock()
	count += 1
	last = "%s (%s:%d)" % [rationale if not rationale.is_empty() else code, file, line]
	_mutex.unlock()
