@tool
extends EditorPlugin
## Test driver, not part of the addon: [code]tests/addon/test_editor_npc.py[/code] copies it
## into a copy of the project as [code]addons/parley_npc_check/[/code] (with a persona folder
## at [code]res://personas[/code]) and starts a headless editor on it. Once the editor has
## scanned the project it makes a [ParleyNPC] as the editor does (the script is
## [code]@tool[/code], so [method Engine.is_editor_hint] is true), reads the inspector's view
## of [code]persona_id[/code] ([method Object.get_property_list], which runs
## [code]_validate_property[/code]) and the node's configuration warnings, prints one line
## [code]NPC_CHECK {json}[/code] and quits the editor.

const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")

var _done: bool = false


func _process(_delta: float) -> void:
	if _done or EditorInterface.get_resource_filesystem().is_scanning():
		return
	_done = true
	var npc: NpcScript = NpcScript.new()
	var report: Dictionary = {"editor_hint": Engine.is_editor_hint()}
	for property: Dictionary in npc.get_property_list():
		if property["name"] == "persona_id":
			report["hint"] = property["hint"]
			report["hint_string"] = property["hint_string"]
	report["enum_suggestion"] = PROPERTY_HINT_ENUM_SUGGESTION
	report["warnings"] = {}
	for id: String in ["", "goldie", "nobody"]:
		npc.persona_id = id
		report["warnings"][id] = Array(npc._get_configuration_warnings())
	npc.free()
	print("NPC_CHECK " + JSON.stringify(report))
	get_tree().quit()
