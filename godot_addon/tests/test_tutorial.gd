extends "res://tests/test_case.gd"
## The addon README's tutorial ("Your first talking NPC in five minutes"), literally: its
## persona file and its script are read from the README, the script is compiled as a
## GDScript and run on the scene the tutorial describes, against the real sidecar.

const ParleyTest := preload("res://tests/test_parley.gd")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const Line := preload("res://addons/parley/api/line.gd")
const README := "res://addons/parley/README.md"
const SECTION := "## Your first talking NPC in five minutes"

var _parley: Node = null
var _scene: Node = null
var _folder: String = ""


func after_each() -> void:
	if _scene != null:
		_scene.queue_free()
	if _parley != null:
		_parley.call("stop")
		_parley.queue_free()
	await tree.process_frame


func test_the_tutorial_runs_as_written() -> void:
	var readme: String = FileAccess.get_file_as_string(README)
	if not check(SECTION in readme, "the README has the tutorial"):
		return
	var section: String = readme.get_slice(SECTION, 1).get_slice("\n## ", 0)
	var persona: String = code_block(section, "toml")
	var source: String = code_block(section, "gdscript")
	if not check(not persona.is_empty() and not source.is_empty(), "a toml and a gdscript block"):
		return

	# Step 2: the persona file, in a persona folder of its own.
	_folder = "user://tutorial-%d-%d" % [OS.get_process_id(), Time.get_ticks_usec()]
	DirAccess.make_dir_recursive_absolute(ProjectSettings.globalize_path(_folder))
	var file: FileAccess = FileAccess.open(_folder.path_join("bram.toml"), FileAccess.WRITE)
	file.store_string(persona)
	file.close()
	_parley = ParleyTest.make_parley(tree, "tutorial")
	_parley.call("configure", {"parley/sidecar/personas_dir": _folder})

	# Step 4: the script, compiled as written.
	var script := GDScript.new()
	script.source_code = source
	var err: Error = script.reload()
	if not check_eq(err, OK, "the tutorial's script compiles (%s)" % error_string(err)):
		return

	# Step 3: the scene: a root Node with Bram/ParleyNPC and a Label.
	_scene = Node.new()
	_scene.set_script(script)
	var bram := Node2D.new()
	bram.name = "Bram"
	_scene.add_child(bram)
	var npc: NpcScript = NpcScript.new()
	npc.name = "ParleyNPC"
	npc.persona_id = "bram"
	bram.add_child(npc)
	var label := Label.new()
	label.name = "Label"
	_scene.add_child(label)
	var lines: Array[Line] = []
	npc.line_received.connect(func(line: Line) -> void: lines.append(line))
	var ended: Array[String] = []
	npc.conversation_ended.connect(func(id: String) -> void: ended.append(id))
	tree.root.add_child(_scene)

	var finished: bool = await wait_until(func() -> bool: return not ended.is_empty(), 90.0)
	if not check(finished, "the tutorial's conversation ended (label: %s)" % label.text):
		return
	check_eq(lines.size(), 3, "greeting, answer, farewell")
	if lines.size() == 3:
		check_eq(lines[0].name, "Bram", "Bram speaks")
		check(not lines[1].text.is_empty(), "an answer")
		check_eq(label.text.strip_edges(), lines[1].text.strip_edges(), "streamed into the Label")
		check(not lines[2].text.is_empty(), "a farewell")
	check(not npc.is_talking(), "left")


func test_the_use_snippet_compiles() -> void:
	# The "## Use" example is statements, not a script: it compiles inside a coroutine.
	var readme: String = FileAccess.get_file_as_string(README)
	var use: String = code_block(
		readme.get_slice("\n## Use\n", 1).get_slice("\n## ", 0), "gdscript"
	)
	if not check(not use.is_empty(), "the README has a Use example"):
		return
	var body := PackedStringArray()
	for line: String in use.split("\n"):
		body.append("    " + line)  # the README indents with spaces
	var script := GDScript.new()
	script.source_code = "extends Node\n\n\nfunc example() -> void:\n" + "\n".join(body) + "\n"
	var err: Error = script.reload()
	check_eq(err, OK, "the Use example compiles (%s)" % error_string(err))


## The first fenced block of [param language] in [param markdown], without the fence and
## with the list indentation it has in the README removed.
static func code_block(markdown: String, language: String) -> String:
	var fence: String = "```" + language + "\n"
	var start: int = markdown.find(fence)
	if start < 0:
		return ""
	var line_start: int = markdown.rfind("\n", start) + 1
	var indent: int = start - line_start
	var body: String = markdown.substr(start + fence.length())
	body = body.substr(0, body.find("```"))
	var out := PackedStringArray()
	for line: String in body.split("\n"):
		out.append(line.substr(indent) if line.begins_with(" ".repeat(indent)) else line)
	return "\n".join(out).strip_edges(false, true) + "\n"
