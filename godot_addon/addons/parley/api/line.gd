class_name ParleyLine
extends RefCounted
## One line said in a conversation: who said it, the words, and the face it was said with.
## Built from the protocol's line map ([code]{"speaker", "name", "text", "emotion",
## "intensity"}[/code], engine_bindings/PROTOCOL.md); a field the sidecar did not send is
## empty ("" or 0.0), never null.
##
## [codeblock]
## var reply := await Parley.say("goldie", "Hello!")
## print(reply.line.name, ": ", reply.line.text, " (", reply.line.emotion, ")")
## [/codeblock]

# Its own script, for the static constructor (class_name globals may not be registered).
const LineScript := preload("res://addons/parley/api/line.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## Who said it: the persona id, or [code]"player"[/code].
var speaker: String = ""
## The speaker's display name ("Goldie").
var name: String = ""
## The words.
var text: String = ""
## One of [code]neutral[/code], [code]joy[/code], [code]sadness[/code], [code]anger[/code],
## [code]fear[/code], [code]surprise[/code], [code]disgust[/code], [code]affection[/code];
## "" when the sidecar sent none (player lines, old stored lines).
var emotion: String = ""
## How strongly the [member emotion] shows, 0-1 (0.0 when none was sent).
var intensity: float = 0.0
## In a scene: the persona ids the line is spoken to (empty: the player, or not a scene).
var addressed_to: PackedStringArray = PackedStringArray()
## In a scene: the line's place in it (-1 when not sent).
var seq: int = -1


## A line from the protocol's map [param data]. Fields of the wrong type count as missing,
## so a malformed map gives an empty line instead of an error.
static func from_dict(data: Dictionary) -> LineScript:
	var line := LineScript.new()
	line.speaker = Fields.text(data, "speaker")
	line.name = Fields.text(data, "name")
	line.text = Fields.text(data, "text")
	line.emotion = Fields.text(data, "emotion")
	line.intensity = Fields.number(data, "intensity")
	line.seq = int(Fields.number(data, "seq", -1))
	var to: Variant = data.get("addressed_to")
	if to is Array:
		for who: Variant in to:
			if who is String:
				line.addressed_to.append(who)
	return line


## True when the line has no words (no line was sent).
func is_empty() -> bool:
	return text.is_empty()


## The line as the protocol's map (for saving it, or handing it to untyped code); a scene
## line's [code]addressed_to[/code] and [code]seq[/code] only when it has them.
func to_dict() -> Dictionary:
	var out: Dictionary = {
		"speaker": speaker, "name": name, "text": text, "emotion": emotion, "intensity": intensity
	}
	if seq >= 0:
		out["seq"] = seq
		out["addressed_to"] = Array(addressed_to)
	return out


func _to_string() -> String:
	return "ParleyLine(%s: %s)" % [name if not name.is_empty() else speaker, text]
