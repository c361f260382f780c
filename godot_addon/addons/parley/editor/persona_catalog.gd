extends RefCounted
## The persona ids a project offers, read at edit time from the persona folder
## ([code]parley/sidecar/personas_dir[/code]) without the sidecar: one id per
## [code]<id>.toml[/code] file ("file name = id", personas/README.md). Used by
## [ParleyNPC]'s inspector drop-down and its configuration warnings. It lists file names
## only; whether a file is a valid persona is the sidecar's call ([code]parley validate[/code]).

const ParleyScript := preload("res://addons/parley/parley.gd")
const ProcessScript := preload("res://addons/parley/sidecar_process.gd")
const SETTING := "parley/sidecar/personas_dir"
## What the sidecar accepts as a persona id (PROTOCOL.md §5).
const ID_PATTERN := "^[a-z][a-z0-9_]{0,31}$"


## The persona folder as the project sets it ("" = the sidecar's own default personas,
## which the editor cannot see).
static func folder() -> String:
	return str(ProjectSettings.get_setting(SETTING, ParleyScript.SETTINGS[SETTING])).strip_edges()


## The persona ids in [param dir] (a res://, user://, absolute or project-relative path),
## sorted; empty when [param dir] is "" or does not exist. Files whose name is no valid
## persona id are left out (the sidecar would refuse them).
static func ids_in(dir: String) -> PackedStringArray:
	var ids := PackedStringArray()
	if dir.is_empty():
		return ids
	var path: String = ProcessScript.absolute_path(dir)
	if not DirAccess.dir_exists_absolute(path):
		return ids
	var valid: RegEx = RegEx.create_from_string(ID_PATTERN)
	for file: String in DirAccess.get_files_at(path):
		var stem: String = file.get_basename()
		if file.get_extension() == "toml" and valid.search(stem) != null:
			ids.append(stem)
	ids.sort()
	return ids


## What is wrong with [param persona_id] for a node, given persona folder [param dir]: an
## empty id, a folder that does not exist, or an id with no file there. Empty when fine (or
## when [param dir] is "", where only the sidecar knows its default personas).
static func problems(persona_id: String, dir: String) -> PackedStringArray:
	var out := PackedStringArray()
	if persona_id.is_empty():
		out.append(
			'persona_id is empty: set it to a persona file\'s id ("goldie" for goldie.toml).'
		)
		return out
	if dir.is_empty():
		return out
	if not DirAccess.dir_exists_absolute(ProcessScript.absolute_path(dir)):
		out.append("The persona folder %s (%s) does not exist." % [dir, SETTING])
		return out
	var known: PackedStringArray = ids_in(dir)
	if not persona_id in known:
		var listed: String = ", ".join(known) if not known.is_empty() else "none"
		out.append('No persona "%s" in %s (found: %s).' % [persona_id, dir, listed])
	return out
