@tool
extends EditorPlugin
## Test driver, not part of the addon: [code]tests/addon/test_editor_plugin.py[/code] copies
## it into a copy of the project as [code]addons/parley_plugin_check/[/code] and starts a
## headless editor on it. Once the editor has scanned the project it enables the Parley
## plugin through the editor ([method EditorInterface.set_plugin_enabled], which runs
## plugin.gd's [code]_enable_plugin[/code]), changes one setting as a user would, disables it,
## enables it again, prints one line [code]PLUGIN_CHECK {json}[/code] with what the project
## held after each step (in memory, and in project.godot once saved) and quits the editor.

const ParleyScript := preload("res://addons/parley/parley.gd")
const PARLEY := "parley"
const AUTOLOAD_KEY := "autoload/Parley"
## A setting the "user" changes before disabling: it must survive.
const USER_KEY := "parley/player/id"
const USER_VALUE := "ada"

var _done: bool = false


func _process(_delta: float) -> void:
	if _done or EditorInterface.get_resource_filesystem().is_scanning():
		return
	_done = true
	var report: Dictionary = {"before": _snapshot()}
	EditorInterface.set_plugin_enabled(PARLEY, true)
	report["enabled"] = _snapshot()
	ProjectSettings.set_setting(USER_KEY, USER_VALUE)
	ProjectSettings.save()
	EditorInterface.set_plugin_enabled(PARLEY, false)
	report["disabled"] = _snapshot()
	EditorInterface.set_plugin_enabled(PARLEY, true)
	report["re_enabled"] = _snapshot()
	print("PLUGIN_CHECK " + JSON.stringify(report))
	get_tree().quit()


func _snapshot() -> Dictionary:
	# The editor saves project.godot on a timer and on quit; save now to read what it would hold.
	ProjectSettings.save()
	var settings: Dictionary = {}
	for key: String in ParleyScript.SETTINGS:
		if ProjectSettings.has_setting(key):
			settings[key] = ProjectSettings.get_setting(key)
	return {
		"plugin_enabled": EditorInterface.is_plugin_enabled(PARLEY),
		"autoload": str(ProjectSettings.get_setting(AUTOLOAD_KEY, "")),
		"settings": settings,
		"project_godot": FileAccess.get_file_as_string("res://project.godot"),
	}
