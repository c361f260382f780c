class_name ParleyClient
extends RefCounted
## The request/reply layer over [ParleyZmtp]: request ids, one awaitable per request, events
## routed by request id, time limits, and reconnection.
##
## Frames follow engine_bindings/PROTOCOL.md: request [code]{id, op, args}[/code], reply
## [code]{id, ok, result | error}[/code], event [code]{id, event, data}[/code]; one ZeroMQ
## message = one frame = one msgpack map. Drive it with [method poll] once a frame; all
## timeouts are measured there (no timers, no threads), so a request always resolves.
##
## If the connection drops, requests already sent fail with [code]disconnected[/code] (the
## sidecar may or may not have handled them, so they are not resent); requests not yet sent
## wait for the reconnection until their own time limit. The client reconnects by itself
## with a growing delay; [method connect_to] re-points it (for example at a restarted
## sidecar on a new port with a new token).

## The handshake with the sidecar completed; queued requests are being sent.
signal connected
## The connection dropped ([param code] from [ParleyZmtp]'s FAIL_* constants).
signal disconnected(code: StringName, reason: String)
## An event frame arrived. [param request_id] is the id of the request it belongs to
## (0 if none).
signal event_received(request_id: int, event: String, data: Dictionary)

const ZmtpScript := preload("res://addons/parley/net/zmtp.gd")
const MsgpackScript := preload("res://addons/parley/net/msgpack.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const PendingScript := preload("res://addons/parley/net/pending.gd")
const ErrorScript := preload("res://addons/parley/net/error.gd")

## PLAIN username the sidecar expects.
const USERNAME := "parley"
const RECONNECT_MIN_MS := 100
const RECONNECT_MAX_MS := 2000

## Time limit for requests that do not give their own.
var default_timeout_s: float = 15.0
## The endpoint last given to [method connect_to], e.g. "tcp://127.0.0.1:5555".
var endpoint: String = ""

var _zmtp: ZmtpScript = null
var _token: String = ""
var _host: String = ""
var _port: int = 0
var _last_id: int = 0
var _pending: Dictionary = {}  # id -> PendingScript
var _unsent: Array[int] = []
var _reconnect_at_ms: int = -1
var _reconnect_delay_ms: int = RECONNECT_MIN_MS
var _auth_rejected: bool = false


## Points the client at [param address] ("tcp://HOST:PORT") with the sidecar's token and
## starts connecting. Requests already sent on a previous connection fail with
## [code]disconnected[/code]. Returns ERR_INVALID_PARAMETER for an unusable endpoint.
func connect_to(address: String, token: String) -> Error:
	var parsed: Dictionary = parse_endpoint(address)
	if parsed.is_empty():
		return ERR_INVALID_PARAMETER
	_drop_connection(ErrorScript.DISCONNECTED, "client re-pointed to %s" % address)
	endpoint = address
	_host = parsed["host"]
	_port = parsed["port"]
	_token = token
	_auth_rejected = false
	_reconnect_delay_ms = RECONNECT_MIN_MS
	return _open()


## Whether requests go out right away (the handshake has completed).
func is_open() -> bool:
	return _zmtp != null and _zmtp.is_open()


## Number of requests still waiting for their reply.
func pending_count() -> int:
	return _pending.size()


## Closes the connection for good: every pending request fails with [param code].
func close(code: StringName = ErrorScript.CLOSED, reason: String = "client closed") -> void:
	endpoint = ""
	_reconnect_at_ms = -1
	if _zmtp != null:
		_zmtp.close()
		_zmtp = null
	for id: int in _pending.keys():
		_finish(id, ReplyScript.failed(id, code, reason))
	_unsent.clear()


## Sends [param op] with [param args] and resumes with its reply, or with a failure after
## [param timeout_s] seconds (the default when negative). Never errors; always resumes,
## provided [method poll] keeps being called.
func request(op: String, args: Dictionary = {}, timeout_s: float = -1.0) -> ReplyScript:
	var pending: PendingScript = send_request(op, args, timeout_s)
	if pending.done:
		return pending.reply
	var reply: ReplyScript = await pending.resolved
	return reply


## Like [method request] but returns the [ParleyPending] at once, for callers that want its
## [signal ParleyPending.event_received] (streamed text) before awaiting
## [signal ParleyPending.resolved]. A request that fails before it is queued is returned
## already [member ParleyPending.done].
func send_request(op: String, args: Dictionary = {}, timeout_s: float = -1.0) -> PendingScript:
	_last_id += 1
	var pending := PendingScript.new()
	pending.id = _last_id
	pending.op = op
	var seconds: float = timeout_s if timeout_s >= 0.0 else default_timeout_s
	pending.deadline_ms = Time.get_ticks_msec() + int(seconds * 1000.0)
	var encoded: MsgpackScript.Result = MsgpackScript.encode(
		{"id": pending.id, "op": op, "args": args}
	)
	if not encoded.ok:
		pending.resolve(ReplyScript.failed(pending.id, ErrorScript.ENCODE_FAILED, encoded.message))
		return pending
	pending.frame = encoded.bytes
	_pending[pending.id] = pending
	_unsent.append(pending.id)
	return pending


## Advances the connection, sends queued requests, resolves replies and timeouts.
func poll() -> void:
	var now: int = Time.get_ticks_msec()
	# A local reference keeps the peer alive while its signals run our handlers, which may
	# drop [member _zmtp].
	var zmtp: ZmtpScript = _zmtp
	if zmtp != null:
		zmtp.poll()
	elif _reconnect_at_ms >= 0 and now >= _reconnect_at_ms and not endpoint.is_empty():
		_reconnect_at_ms = -1
		_open()
	if is_open():
		_send_unsent()
	for id: int in _pending.keys():
		var pending: PendingScript = _pending[id]
		if now > pending.deadline_ms:
			var why: String = "no reply to %s within its time limit" % pending.op
			if not is_open():
				why += " (not connected to the sidecar)"
			_finish(id, ReplyScript.failed(id, ErrorScript.TIMEOUT, why))


## Splits "tcp://HOST:PORT" into [code]{"host", "port"}[/code]; empty if it is not one.
static func parse_endpoint(address: String) -> Dictionary:
	if not address.begins_with("tcp://"):
		return {}
	var rest: String = address.substr(6)
	var colon: int = rest.rfind(":")
	if colon <= 0:
		return {}
	var host: String = rest.substr(0, colon).trim_prefix("[").trim_suffix("]")
	var port_text: String = rest.substr(colon + 1)
	if not port_text.is_valid_int():
		return {}
	var port: int = port_text.to_int()
	if port < 1 or port > 65535:
		return {}
	return {"host": host, "port": port}


func _open() -> Error:
	var zmtp := ZmtpScript.new()
	_zmtp = zmtp
	zmtp.handshake_completed.connect(_on_zmtp_handshake_completed)
	zmtp.message_received.connect(_on_zmtp_message_received)
	zmtp.failed.connect(_on_zmtp_failed)
	var err: Error = zmtp.connect_to(_host, _port, USERNAME, _token)
	if err != OK:
		_zmtp = null
		_schedule_reconnect()
	return err


func _send_unsent() -> void:
	var zmtp: ZmtpScript = _zmtp
	while not _unsent.is_empty() and zmtp != null and zmtp.is_open():
		var id: int = _unsent.pop_front()
		var pending: PendingScript = _pending.get(id)
		if pending == null or pending.done:
			continue
		if not zmtp.send(pending.frame):
			_unsent.push_front(id)
			return
		pending.sent = true


func _finish(id: int, reply: ReplyScript) -> void:
	var pending: PendingScript = _pending.get(id)
	if pending == null:
		return
	_pending.erase(id)
	pending.resolve(reply)


func _drop_connection(code: StringName, reason: String) -> void:
	var zmtp: ZmtpScript = _zmtp
	_zmtp = null
	if zmtp != null:
		zmtp.close()
	for id: int in _pending.keys():
		var pending: PendingScript = _pending[id]
		if pending.sent:
			_finish(id, ReplyScript.failed(id, code, reason))


func _schedule_reconnect() -> void:
	if endpoint.is_empty() or _auth_rejected:
		return
	_reconnect_at_ms = Time.get_ticks_msec() + _reconnect_delay_ms
	_reconnect_delay_ms = mini(_reconnect_delay_ms * 2, RECONNECT_MAX_MS)


func _on_zmtp_handshake_completed(_peer_type: String) -> void:
	_reconnect_delay_ms = RECONNECT_MIN_MS
	connected.emit()
	_send_unsent()


func _on_zmtp_failed(code: StringName, reason: String) -> void:
	_zmtp = null  # the caller of poll()/send() holds its own reference until it returns
	var reply_code: StringName = ErrorScript.DISCONNECTED
	if code == ZmtpScript.FAIL_AUTH:
		_auth_rejected = true
		reply_code = ErrorScript.AUTH_REJECTED
	for id: int in _pending.keys():
		var pending: PendingScript = _pending[id]
		# Unsent requests wait for the next connection, except when it can never succeed.
		if pending.sent or _auth_rejected:
			_finish(id, ReplyScript.failed(id, reply_code, "%s: %s" % [code, reason]))
	_schedule_reconnect()
	disconnected.emit(code, reason)


func _on_zmtp_message_received(frames: Array[PackedByteArray]) -> void:
	# One message = one frame; tolerate a leading empty delimiter frame (REQ/REP style).
	var decoded: MsgpackScript.Result = MsgpackScript.decode(frames[frames.size() - 1])
	if not decoded.ok or not decoded.value is Dictionary:
		push_warning("Parley: dropped an unreadable frame from the sidecar (%s)" % decoded.message)
		return
	var msg: Dictionary = decoded.value
	var id: int = msg.get("id", 0) if msg.get("id") is int else 0
	if msg.has("event"):
		var data: Dictionary = msg["data"] if msg.get("data") is Dictionary else {}
		var event: String = str(msg["event"])
		var pending: PendingScript = _pending.get(id)
		if pending != null:
			pending.add_event(event, data)
		event_received.emit(id, event, data)
		return
	if not _pending.has(id):
		return  # a reply to a request that already timed out
	if msg.get("ok") is bool and msg["ok"]:
		var result: Dictionary = msg["result"] if msg.get("result") is Dictionary else {}
		_finish(id, ReplyScript.succeeded(id, result))
	else:
		var err: Dictionary = msg["error"] if msg.get("error") is Dictionary else {}
		var details: Dictionary = err["details"] if err.get("details") is Dictionary else {}
		var code: StringName = StringName(str(err.get("code", ErrorScript.INTERNAL)))
		_finish(id, ReplyScript.failed(id, code, str(err.get("message", "")), details))
