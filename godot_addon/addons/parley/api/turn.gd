class_name ParleyTurn
extends RefCounted
## One turn of a conversation in flight: the NPC's answer to a player line, as it streams.
## [method Parley.stream] returns one at once; connect its signals or [code]await[/code]
## [method done]. Every turn finishes exactly once ([signal finished]), ok or failed, within
## the request's time limit, and always after the call that made it has returned, so
## signals connected right after [method Parley.stream] never miss anything.
##
## [codeblock]
## var turn: ParleyTurn = Parley.stream($Goldie/ParleyNPC, "Any news?")
## turn.delta.connect(func(piece: String) -> void: label.text += piece)
## turn.reset.connect(func(_reason: String) -> void: label.text = "")
## var reply: ParleyReply = await turn.done()
## [/codeblock]

## A piece of the NPC's line arrived: append [param text] to what is shown.
signal delta(text: String)
## The line being streamed was restarted (a provider broke off, or the quality gate asked
## for a better line): discard what was shown. [param reason] is the sidecar's
## ([code]"quality"[/code], or why a provider failed).
signal reset(reason: String)
## A whole NPC line of the turn was said and stored: in a scene turn
## ([method Parley.stream_scene]) once per NPC line, in order, before [signal finished].
signal line_said(line: LineScript)
## The turn is over: [param reply] is the sidecar's answer (see [ParleyReply]) or a failure
## ([constant ParleyError.CANCELLED] after [method cancel], [constant ParleyError.TIMEOUT],
## ...). Emitted exactly once.
signal finished(reply: ReplyScript)

const ReplyScript := preload("res://addons/parley/net/reply.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")
const LineScript := preload("res://addons/parley/api/line.gd")

## The persona id of the NPC this turn talks to.
var npc_id: String = ""
## The conversation the turn belongs to ("" until it is known: a turn may first have to
## start the conversation).
var conversation: String = ""
## The NPC's line as streamed so far (since the last [signal reset] or, in a scene, since
## the last [signal line_said]).
var text: String = ""
## Who the streamed pieces are from: the persona id of the NPC speaking now (in a scene the
## speaker changes from line to line; set before each [signal delta]).
var speaker: String = ""
## The reply, once [signal finished] was emitted; null before.
var reply: ReplyScript = null
## The id of the turn's request once it is sent to the sidecar (0 before).
var request_id: int = 0

# Set by the Parley autoload with the request id: sends request.cancel for it.
var _cancel_request: Callable = Callable()
var _cancel_wanted: bool = false


## Resumes with the turn's [ParleyReply] (at once if it has finished already).
func done() -> ReplyScript:
	if reply != null:
		return reply
	var result: ReplyScript = await finished
	return result


## True once the turn has finished ([member reply] is set).
func is_done() -> bool:
	return reply != null


## Cancels the turn if the NPC is still generating its line: the turn then finishes with
## [constant ParleyError.CANCELLED] and nothing is stored. A turn that has started to
## commit cannot be cancelled and finishes normally; after it finished this does nothing.
func cancel() -> void:
	if _want_cancel() and _cancel_request.is_valid():
		_cancel_request.call(request_id)


## True when [method cancel] was called before the turn finished.
func is_cancel_requested() -> bool:
	return _cancel_wanted


## For the Parley autoload: records a wish to cancel. True when a request.cancel should go
## out now (the request is sent, the turn not finished, and no cancel was asked before); a
## turn not sent yet is never sent once this was called.
func _want_cancel() -> bool:
	if reply != null or _cancel_wanted:
		return false
	_cancel_wanted = true
	return request_id != 0


## For the Parley autoload: the request was sent as [param id]; [param cancel_request]
## (called with the id) sends its request.cancel.
func _sent(id: int, cancel_request: Callable) -> void:
	request_id = id
	_cancel_request = cancel_request


## For the Parley autoload: a streamed piece from [param from] arrived ("" = the turn's NPC).
func _add_delta(piece: String, from: String = "") -> void:
	if reply != null:
		return
	speaker = from if not from.is_empty() else npc_id
	text += piece
	delta.emit(piece)


## For the Parley autoload: a whole line of a scene turn was stored.
func _add_line(line: LineScript) -> void:
	if reply != null:
		return
	text = ""
	line_said.emit(line)


## For the Parley autoload: the streamed line was restarted.
func _reset(reason: String) -> void:
	if reply != null:
		return
	text = ""
	reset.emit(reason)


## For the Parley autoload: the turn is over; only the first call counts.
func _finish(result: ReplyScript) -> void:
	if reply != null:
		return
	reply = result
	finished.emit(result)


func _to_string() -> String:
	var state: String = "running" if reply == null else ("ok" if reply.ok else str(reply.error))
	return "ParleyTurn(%s %s)" % [npc_id, state]
