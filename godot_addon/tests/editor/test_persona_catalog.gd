extends "res://tests/test_case.gd"
## editor/persona_catalog.gd and ParleyNPC's configuration warnings: the persona ids of a
## real folder of TOML files, what is left out, and the warning for an empty, unknown or
## folder-less id. (The inspector drop-down itself, which only exists in the editor, is
## checked in a real headless editor by tests/addon/test_editor_npc.py.)

const Catalog := preload("res://addons/parley/editor/persona_catalog.gd")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")

var _scratch: String = ""
var _saved_setting: Variant = null


func before_each() -> void:
	_scratch = "user://catalog-%d-%d" % [OS.get_process_id(), Time.get_ticks_usec()]
	DirAccess.make_dir_recursive_absolute(ProjectSettings.globalize_path(_scratch))
	_saved_setting = ProjectSettings.get_setting(Catalog.SETTING)


func after_each() -> void:
	ProjectSettings.set_setting(Catalog.SETTING, _saved_setting)
	var path: String = ProjectSettings.globalize_path(_scratch)
	for file: String in DirAccess.get_files_at(path):
		DirAccess.remove_absolute(path.path_join(file))
	DirAccess.remove_absolute(path)


func test_the_repository_personas_are_listed_sorted() -> void:
	var ids: PackedStringArray = Catalog.ids_in(repo_path("personas"))
	check_eq(ids, PackedStringArray(["ansel", "goldie", "hesper", "rook", "sorrel"]), "ids")


func test_only_toml_files_named_like_a_persona_id_count() -> void:
	for file: String in ["ok_1.toml", "Bad.toml", "x-y.toml", "notes.txt", "1st.toml", "b.toml"]:
		var out: FileAccess = FileAccess.open(_scratch.path_join(file), FileAccess.WRITE)
		out.store_string('id = "%s"\n' % file.get_basename())
		out.close()
	check_eq(Catalog.ids_in(_scratch), PackedStringArray(["b", "ok_1"]), "valid ids only")
	check_eq(Catalog.ids_in(_scratch + "/missing"), PackedStringArray(), "no folder: none")
	check_eq(Catalog.ids_in(""), PackedStringArray(), "no setting: none")


func test_problems_for_empty_unknown_and_known_ids() -> void:
	var dir: String = repo_path("personas")
	check_eq(Catalog.problems("goldie", dir), PackedStringArray(), "a known id is fine")
	var empty: PackedStringArray = Catalog.problems("", dir)
	check(empty.size() == 1 and "persona_id is empty" in empty[0], "empty: %s" % [empty])
	var unknown: PackedStringArray = Catalog.problems("nobody", dir)
	check(unknown.size() == 1 and '"nobody"' in unknown[0], "unknown: %s" % [unknown])
	check(unknown.size() == 1 and "goldie" in unknown[0], "names what exists: %s" % [unknown])
	var no_folder: PackedStringArray = Catalog.problems("goldie", dir + "/missing")
	check(no_folder.size() == 1 and "does not exist" in no_folder[0], "%s" % [no_folder])
	check_eq(Catalog.problems("anyone", ""), PackedStringArray(), "sidecar defaults: unknown")


func test_the_node_warns_from_the_project_setting() -> void:
	ProjectSettings.set_setting(Catalog.SETTING, repo_path("personas"))
	var npc: NpcScript = NpcScript.new()
	check_eq(npc._get_configuration_warnings().size(), 1, "a new node has no persona yet")
	npc.persona_id = "sorrel"
	check_eq(npc._get_configuration_warnings(), PackedStringArray(), "sorrel exists")
	npc.persona_id = "sorel"
	check_eq(npc._get_configuration_warnings().size(), 1, "a typo is flagged")
	npc.free()
