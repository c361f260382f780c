class_name ParleyAffinity
extends RefCounted
## How much an NPC likes the player after a reply (0-100, starting at 50), how much that
## changed in this turn and why.

const AffinityScript := preload("res://addons/parley/api/affinity.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## The NPC's affinity for the player now, 0-100.
var value: int = 0
## The change in this turn (0 on a greeting).
var delta: int = 0
## Every part of the change, joined with "; " ([code]"friendly; bonding arc"[/code]).
var reason: String = ""


## The affinity from the protocol's map [code]{"value", "delta", "reason"}[/code].
static func from_dict(data: Dictionary) -> AffinityScript:
	var affinity := AffinityScript.new()
	affinity.value = int(Fields.number(data, "value"))
	affinity.delta = int(Fields.number(data, "delta"))
	affinity.reason = Fields.text(data, "reason")
	return affinity


func _to_string() -> String:
	return "ParleyAffinity(%d, %+d: %s)" % [value, delta, reason]
