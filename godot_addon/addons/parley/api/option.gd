class_name ParleyOption
extends RefCounted
## An answer the player may pick: [method Parley.choose] with its [member index] says
## [member text] as the player's line.
##
## [codeblock]
## for option: ParleyOption in reply.options:
##     print(option.index, ": ", option.text, " [", option.intent, "]")
## [/codeblock]

const OptionScript := preload("res://addons/parley/api/option.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## The words the player would say.
var text: String = ""
## What the option does: [code]ask[/code] (a follow-up question), [code]share[/code] (a
## personal share) or [code]leave[/code] (a topic change or goodbye); "" when none was sent.
var intent: String = ""
## Its place among the reply's options (0-based): the index [method Parley.choose] takes.
var index: int = 0


## An option from the protocol's map [code]{"text", "intent"}[/code] at [param position].
static func from_dict(data: Dictionary, position: int) -> OptionScript:
	var option := OptionScript.new()
	option.text = Fields.text(data, "text")
	option.intent = Fields.text(data, "intent")
	option.index = position
	return option


func _to_string() -> String:
	return "ParleyOption(%d %s: %s)" % [index, intent, text]
