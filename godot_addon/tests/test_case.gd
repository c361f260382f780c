extends RefCounted
## Base of the GDScript tests: assertions that record failures instead of stopping, and
## waits that always end (a condition checked every frame, up to a time limit).
##
## A test is a method whose name starts with [code]test_[/code]; it may be a coroutine.
## [method before_each] / [method after_each] run around every test.

## Set by the runner.
var tree: SceneTree
var failures: PackedStringArray = PackedStringArray()
var current_test: String = ""


func before_each() -> void:
	pass


func after_each() -> void:
	pass


## Records a failure unless [param condition] holds. Returns [param condition].
func check(condition: bool, what: String) -> bool:
	if not condition:
		failures.append("%s: %s" % [current_test, what])
	return condition


## Records a failure unless [param got] equals [param want] (same type, same value).
func check_eq(got: Variant, want: Variant, what: String) -> bool:
	var same: bool = typeof(got) == typeof(want) and got == want
	return check(same, "%s: got %s, want %s" % [what, _show(got), _show(want)])


## Waits frame by frame until [param condition] returns true or [param timeout_s] passes.
## [param each_frame] (optional) runs before each check, e.g. to poll a client.
func wait_until(condition: Callable, timeout_s: float, each_frame: Callable = Callable()) -> bool:
	var deadline: int = Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while true:
		if each_frame.is_valid():
			each_frame.call()
		if condition.call():
			return true
		if Time.get_ticks_msec() > deadline:
			return false
		await tree.process_frame
	return false


## Awaits [param frames] process frames.
func frames(count: int) -> void:
	for _i: int in count:
		await tree.process_frame


## Path of a file of the repository (the folder above this Godot project).
static func repo_path(relative: String) -> String:
	return (
		ProjectSettings.globalize_path("res://").path_join("..").path_join(relative).simplify_path()
	)


## The Python interpreter for helper scripts and the sidecar: $PARLEY_PYTHON, else the
## repository's .venv.
static func python() -> String:
	var from_env: String = OS.get_environment("PARLEY_PYTHON")
	return from_env if not from_env.is_empty() else repo_path(".venv/bin/python")


static func _show(value: Variant) -> String:
	var text: String = var_to_str(value)
	return text if text.length() < 300 else text.substr(0, 300) + "..."
