class_name ParleyMemory
extends RefCounted
## Something an NPC remembers about the player, across conversations ([method
## Parley.memories], [method Parley.remember]); written from the NPC's side ("The player
## promised to bring me a trout.").

const MemoryScript := preload("res://addons/parley/api/memory.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## The memory's id (what [code]memory.forget[/code] takes); 0 when the sidecar sent none.
var id: int = 0
## What the NPC remembers.
var text: String = ""
## [code]name[/code], [code]like[/code], [code]dislike[/code], [code]promise[/code],
## [code]gift[/code], [code]favour[/code], [code]quarrel[/code], [code]secret[/code] or
## [code]event[/code].
var kind: String = ""
## 1-10.
var importance: int = 0
## When it was stored or last refreshed (Unix time, seconds).
var at: float = 0.0
## The conversation of the stored line it came from; "" for one the game added (and one
## passed on as an NPC joined a scene).
var conversation: String = ""
## That line's place in the conversation; -1 when [member conversation] is "".
var seq: int = -1
## The NPC who passed it on; "" when this NPC witnessed it.
var told_by: String = ""


## The memory from the protocol's map [code]{"id", "text", "kind", "importance", "at",
## "source": {"conversation", "seq"} | nil, "told_by"}[/code]; a field of the wrong type
## counts as missing.
static func from_dict(data: Dictionary) -> MemoryScript:
	var memory := MemoryScript.new()
	memory.id = Fields.integer(data, "id")
	memory.text = Fields.text(data, "text")
	memory.kind = Fields.text(data, "kind")
	memory.importance = Fields.integer(data, "importance")
	memory.at = Fields.number(data, "at")
	var source: Dictionary = Fields.map(data, "source")
	memory.conversation = Fields.text(source, "conversation")
	if not memory.conversation.is_empty():
		memory.seq = Fields.integer(source, "seq", -1)
	memory.told_by = Fields.text(data, "told_by")
	return memory


func _to_string() -> String:
	return "ParleyMemory(%s %s)" % [kind, text]
