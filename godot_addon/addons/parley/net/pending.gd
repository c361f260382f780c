class_name ParleyPending
extends RefCounted
## One request in flight. [signal resolved] is emitted exactly once (later calls to
## [method resolve] do nothing), so awaiting it can never hang or resume twice.

## The request is finished (ok, failed, timed out or disconnected).
signal resolved(reply: ParleyReplyScript)
## An event for this request arrived (streamed text, extra NPC lines, ...).
signal event_received(event: String, data: Dictionary)

const ParleyReplyScript := preload("res://addons/parley/net/reply.gd")

var id: int = 0
var op: String = ""
## The encoded request frame.
var frame := PackedByteArray()
## Time.get_ticks_msec() after which the request fails with "timeout".
var deadline_ms: int = 0
## True once the frame was handed to the socket (after that a drop is "disconnected").
var sent: bool = false
var done: bool = false
var reply: ParleyReplyScript = null
var _events: Array[Dictionary] = []


## Records an event and re-emits it for listeners of this request.
func add_event(event: String, data: Dictionary) -> void:
	if done:
		return
	_events.append({"event": event, "data": data})
	event_received.emit(event, data)


## Finishes the request with [param result]; only the first call counts.
func resolve(result: ParleyReplyScript) -> void:
	if done:
		return
	done = true
	result.events = _events
	reply = result
	resolved.emit(result)
