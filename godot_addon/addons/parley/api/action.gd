class_name ParleyAction
extends RefCounted
## Something an NPC decided to do with its line (mend the player's sword, open the gate),
## already validated and stored by the sidecar: [signal Parley.action_requested] hands it to
## the game, which carries it out and says how it went with [method succeed] or
## [method fail]. The NPC's next line is told the result. An action nobody answers stays
## pending ([code]actions.pending[/code]), also across a restart of the sidecar.
##
## [codeblock]
## Parley.action_requested.connect(func(npc_id: String, action: ParleyAction) -> void:
##     if action.name == "repair_item" and gold >= int(action.args["price"]):
##         gold -= int(action.args["price"])
##         action.succeed("the player paid %d coppers" % action.args["price"])
##     else:
##         action.fail("the player cannot pay")
## )
## [/codeblock]

const ActionScript := preload("res://addons/parley/api/action.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")
const Fields := preload("res://addons/parley/api/fields.gd")

## The action's id ([code]a_[/code] + 16 hex digits), unique across the store.
var id: String = ""
## Which action: a name declared in the persona file or with [code]actions.register[/code].
var name: String = ""
## Its arguments, checked against the action's schema by the sidecar.
var args: Dictionary = {}
## The persona id of the NPC that decided it.
var npc_id: String = ""
## True once [method succeed] or [method fail] was called (the first result stands).
var answered: bool = false

# Set by the Parley autoload: sends action.result (id, ok, detail) and resumes with the reply.
var _send_result: Callable = Callable()


## An action from the [code]npc.action[/code] event's data [code]{"id", "name", "args"}[/code].
static func from_dict(data: Dictionary, persona: String, send_result: Callable) -> ActionScript:
	var action := ActionScript.new()
	action.id = Fields.text(data, "id")
	action.name = Fields.text(data, "name")
	action.args = Fields.map(data, "args")
	action.npc_id = persona
	action._send_result = send_result
	return action


## Tells the sidecar the game carried the action out; [param detail] (up to 500 characters)
## says what happened, in words the NPC's next line is given ("the player paid two
## coppers"). Resumes with the [code]action.result[/code] reply; awaiting it is optional.
func succeed(detail: String = "") -> ReplyScript:
	return await _answer(true, detail)


## Tells the sidecar the game did not carry the action out; [param detail] says why ("the
## door is locked"). Resumes with the [code]action.result[/code] reply.
func fail(detail: String = "") -> ReplyScript:
	return await _answer(false, detail)


func _answer(done: bool, detail: String) -> ReplyScript:
	if answered:
		return ReplyScript.failed(0, ErrorScript.INVALID_ARGUMENT, "action %s was answered" % id)
	if not _send_result.is_valid():
		return ReplyScript.failed(0, ErrorScript.SIDECAR_UNAVAILABLE, "no Parley to answer to")
	answered = true
	var reply: ReplyScript = await _send_result.call(id, done, detail)
	return reply


func _to_string() -> String:
	return "ParleyAction(%s %s %s)" % [id, name, args]
