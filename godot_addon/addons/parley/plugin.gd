@tool
extends EditorPlugin
## Registers the [code]Parley[/code] autoload and its Project Settings when the plugin is
## enabled. Disabling it removes the autoload and every [code]parley/*[/code] setting that
## still has its default value; a setting the user changed is kept (it is in project.godot,
## and enabling the plugin again finds it), so a disable/enable cycle loses no configuration.

const AUTOLOAD_NAME := "Parley"
const AUTOLOAD_PATH := "res://addons/parley/parley.gd"
const ParleyScript := preload("res://addons/parley/parley.gd")
const ExportPlugin := preload("res://addons/parley/editor/export_plugin.gd")

## Editor hints for the settings (the defaults live in parley.gd).
const HINTS: Dictionary = {
	"parley/sidecar/data_dir": [PROPERTY_HINT_GLOBAL_DIR, ""],
	"parley/sidecar/personas_dir": [PROPERTY_HINT_DIR, ""],
	"parley/sidecar/provider_config": [PROPERTY_HINT_FILE, "*.toml,*.json"],
	"parley/sidecar/ready_timeout_s": [PROPERTY_HINT_RANGE, "1,120,0.5"],
	"parley/requests/timeout_s": [PROPERTY_HINT_RANGE, "1,600,1"],
}

var _export_plugin: EditorExportPlugin = null


func _enable_plugin() -> void:
	add_autoload_singleton(AUTOLOAD_NAME, AUTOLOAD_PATH)
	_add_settings()


func _disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD_NAME)
	_remove_default_settings()


func _enter_tree() -> void:
	_add_settings()
	_export_plugin = ExportPlugin.new()
	add_export_plugin(_export_plugin)


func _exit_tree() -> void:
	if _export_plugin != null:
		remove_export_plugin(_export_plugin)
		_export_plugin = null


func _add_settings() -> void:
	for key: String in ParleyScript.SETTINGS:
		var default: Variant = ParleyScript.SETTINGS[key]
		if not ProjectSettings.has_setting(key):
			ProjectSettings.set_setting(key, default)
		ProjectSettings.set_initial_value(key, default)
		ProjectSettings.set_as_basic(key, true)
		var info: Dictionary = {"name": key, "type": typeof(default)}
		if HINTS.has(key):
			info["hint"] = HINTS[key][0]
			info["hint_string"] = HINTS[key][1]
		ProjectSettings.add_property_info(info)


func _remove_default_settings() -> void:
	for key: String in ParleyScript.SETTINGS:
		if not ProjectSettings.has_setting(key):
			continue
		var value: Variant = ProjectSettings.get_setting(key)
		var default: Variant = ParleyScript.SETTINGS[key]
		if typeof(value) == typeof(default) and value == default:
			ProjectSettings.set_setting(key, null)  # null erases it
	var err: Error = ProjectSettings.save()
	if err != OK:
		push_warning("Parley: could not save the project settings (%s)" % error_string(err))
