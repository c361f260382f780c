class_name ParleyGoal
extends RefCounted
## What the player is trying to achieve with an NPC ([method Parley.set_goal]) and how far
## it got. Progress (0-1) never goes down; a completed goal stays completed.

const GoalScript := preload("res://addons/parley/api/goal.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## The goal's id ([code]"build_trust"[/code], or one from the persona file).
var id: String = ""
## What the goal is, in words ("" when the sidecar did not send it: turn replies carry
## only the progress, so [code]Parley[/code] fills it from the last [method
## Parley.set_goal] or [method Parley.goal_status] of the conversation).
var description: String = ""
## How far along, 0-1.
var progress: float = 0.0
## True once the goal was achieved.
var completed: bool = false
## Why the progress is where it is (the sidecar's judgement of the last line).
var reason: String = ""


## The goal from the protocol's map [code]{"id", "description", "progress", "completed",
## "reason"}[/code]; a field of the wrong type counts as missing.
static func from_dict(data: Dictionary) -> GoalScript:
	var goal := GoalScript.new()
	goal.id = Fields.text(data, "id")
	goal.description = Fields.text(data, "description")
	goal.progress = Fields.number(data, "progress")
	goal.completed = Fields.flag(data, "completed")
	goal.reason = Fields.text(data, "reason")
	return goal


func _to_string() -> String:
	return "ParleyGoal(%s %.2f%s)" % [id, progress, " completed" if completed else ""]
