extends SceneTree
## Headless runner of the GDScript tests:
##
##     $GODOT_BIN --headless --path godot_addon --script res://tests/run_tests.gd [-- FILTER]
##
## Runs every [code]test_*[/code] method of the suites below (only those whose
## "suite.test" name contains FILTER, if given), prints one line per test and a closing
## "N passed, N failed" line, and exits non-zero on any failure. Scripts are preloaded by
## path, never by class_name: export-template builds do not register class_name globals.

const SUITES: Array[String] = [
	"res://tests/api/test_typed_results.gd",
	"res://tests/net/test_msgpack.gd",
	"res://tests/net/test_zmtp.gd",
	"res://tests/net/test_client.gd",
	"res://tests/test_sidecar_process.gd",
	"res://tests/test_parley.gd",
	"res://tests/editor/test_persona_catalog.gd",
	"res://tests/ui/test_dialogue_balloon.gd",
	"res://tests/test_demo.gd",
	"res://tests/test_readme_snippet.gd",
	"res://tests/test_tutorial.gd",
]
## No run may take longer than this; a hung await ends the run as a failure.
const WATCHDOG_S := 300.0
const ErrorLogger := preload("res://tests/helpers/script_error_logger.gd")


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	# The dev project's Parley autoload would start a sidecar of its own: stop it; the
	# tests create their own instances.
	var autoload: Node = root.get_node_or_null("Parley")
	if autoload != null:
		autoload.call("stop")
		# Out of the tree at once (the tests add their own nodes named "Parley"), but kept:
		# test_readme_snippet puts it back to call it through the `Parley` global.
		root.remove_child(autoload)
		set_meta(&"parley_autoload", autoload)
	create_timer(WATCHDOG_S, true, false, true).timeout.connect(_on_watchdog_timeout)
	var user_args: PackedStringArray = OS.get_cmdline_user_args()
	var filter: String = user_args[0] if not user_args.is_empty() else ""
	var passed: int = 0
	var failed: int = 0
	# A script error ends the test's function early without telling the caller: count them.
	var errors := ErrorLogger.new()
	OS.add_logger(errors)
	for path: String in SUITES:
		var script: GDScript = load(path)
		if script == null:
			print("FAIL %s: cannot load" % path)
			failed += 1
			continue
		var suite_name: String = path.get_file().get_basename()
		for method: Dictionary in script.get_script_method_list():
			var test_name: String = method["name"]
			if not test_name.begins_with("test_"):
				continue
			var full: String = "%s.%s" % [suite_name, test_name]
			if not filter.is_empty() and not filter in full:
				continue
			var suite: RefCounted = script.new()
			suite.set("tree", self)
			suite.set("current_test", full)
			var started: int = Time.get_ticks_msec()
			var errors_before: int = errors.count
			await suite.call("before_each")
			await suite.call(test_name)
			await suite.call("after_each")
			var problems: PackedStringArray = suite.get("failures")
			if errors.count > errors_before:
				problems.append(
					(
						"%s: %d script error(s), the last: %s"
						% [full, errors.count - errors_before, errors.last]
					)
				)
			var ms: int = Time.get_ticks_msec() - started
			if problems.is_empty():
				passed += 1
				print("ok   %s (%d ms)" % [full, ms])
			else:
				failed += 1
				print("FAIL %s (%d ms)" % [full, ms])
				for problem: String in problems:
					print("     ", problem)
	if has_meta(&"parley_autoload"):
		(get_meta(&"parley_autoload") as Node).queue_free()
	OS.remove_logger(errors)
	print("%d passed, %d failed" % [passed, failed])
	quit(0 if failed == 0 and passed > 0 else 1)


func _on_watchdog_timeout() -> void:
	print("FAIL the run did not finish within %d s" % WATCHDOG_S)
	print("0 passed, 1 failed")
	quit(2)
