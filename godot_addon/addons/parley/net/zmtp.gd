class_name ParleyZmtp
extends RefCounted
## A ZMTP 3.1 DEALER peer with PLAIN authentication over [StreamPeerTCP].
##
## Follows rfc 23/ZMTP (ZMTP 3.0: greeting, framing, commands, metadata), rfc 37/ZMTP
## (ZMTP 3.1: PING/PONG) and rfc 24/ZMTP-PLAIN (HELLO, WELCOME, INITIATE, READY, ERROR),
## all at https://rfc.zeromq.org. It talks to the sidecar's ROUTER socket, which checks the
## PLAIN credentials through a ZAP handler.
##
## Nothing blocks: call [method poll] once a frame (the [code]Parley[/code] autoload does).
## Each poll reads what has arrived, parses as many whole frames as there are, writes as much
## of the outgoing buffer as the socket takes, and keeps the rest for the next poll, so
## partial reads and writes are the normal case, not an error. A peer that answers with an
## ERROR command (a wrong password gets [code]ERROR "400"[/code] from libzmq) or closes the
## connection ends in [signal failed] exactly once; a closed peer is never spun on.

## The handshake finished: application messages can flow.
signal handshake_completed(peer_socket_type: String)
## One whole message arrived (all frames up to the one without the MORE flag).
signal message_received(frames: Array[PackedByteArray])
## The connection is over. [param code] is one of the FAIL_* constants.
signal failed(code: StringName, reason: String)

enum State { IDLE, CONNECTING, GREETING, AWAIT_WELCOME, AWAIT_READY, OPEN, CLOSED }

## Failure codes of [signal failed].
const FAIL_CONNECT := &"connect_failed"
const FAIL_AUTH := &"auth_rejected"
const FAIL_PEER_ERROR := &"peer_error"
const FAIL_PROTOCOL := &"protocol_error"
const FAIL_LOST := &"connection_lost"
const FAIL_TIMEOUT := &"handshake_timeout"
const FAIL_TOO_LARGE := &"frame_too_large"

## Largest incoming frame accepted; a bigger one is a protocol failure (protects memory).
const MAX_FRAME_BYTES := 16 * 1024 * 1024

## Frame flags (rfc 23, "Framing"): bit 0 MORE, bit 1 LONG, bit 2 COMMAND; bits 7-3 zero.
const FLAG_MORE := 0x01
const FLAG_LONG := 0x02
const FLAG_COMMAND := 0x04

## Socket types a DEALER may talk to (rfc 23, "Socket Types" compatibility table).
const COMPATIBLE_PEERS: Array[String] = ["ROUTER", "DEALER", "REP"]

var state: State = State.IDLE
## Properties of the peer's READY command, names lower-cased (rfc 23: names are
## case-insensitive), e.g. [code]{"socket-type": "ROUTER"}[/code].
var peer_metadata: Dictionary = {}

var _tcp := StreamPeerTCP.new()
var _username: String = ""
var _password: String = ""
var _inbuf := PackedByteArray()
var _outbuf := PackedByteArray()
var _parts: Array[PackedByteArray] = []
var _deadline_ms: int = 0


## Starts connecting to [param host]:[param port]; the handshake runs in later polls and must
## finish within [param handshake_timeout_ms]. PLAIN usernames and passwords are at most 255
## bytes of UTF-8 (rfc 24). Returns the engine's error if the connect cannot even start.
func connect_to(
	host: String,
	port: int,
	username: String,
	password: String,
	handshake_timeout_ms: int = 5000,
) -> Error:
	close()
	if username.to_utf8_buffer().size() > 255 or password.to_utf8_buffer().size() > 255:
		return ERR_INVALID_PARAMETER
	_username = username
	_password = password
	_inbuf = PackedByteArray()
	_outbuf = PackedByteArray()
	_parts.clear()
	peer_metadata = {}
	_tcp = StreamPeerTCP.new()
	var err: Error = _tcp.connect_to_host(host, port)
	if err != OK:
		state = State.CLOSED
		return err
	_tcp.set_no_delay(true)
	_deadline_ms = Time.get_ticks_msec() + handshake_timeout_ms
	state = State.CONNECTING
	return OK


## Whether application messages can be sent.
func is_open() -> bool:
	return state == State.OPEN


## Queues a one-frame message. False unless the handshake has completed.
func send(frame: PackedByteArray) -> bool:
	var frames: Array[PackedByteArray] = [frame]
	return send_message(frames)


## Queues a multi-frame message (MORE set on all but the last frame).
func send_message(frames: Array[PackedByteArray]) -> bool:
	if state != State.OPEN or frames.is_empty():
		return false
	for i: int in frames.size():
		var more: int = FLAG_MORE if i < frames.size() - 1 else 0
		_outbuf.append_array(encode_frame(frames[i], more))
	_flush()
	return true


## Closes the connection without emitting [signal failed].
func close() -> void:
	if state != State.IDLE and state != State.CLOSED:
		_tcp.disconnect_from_host()
	state = State.CLOSED if state != State.IDLE else State.IDLE


## Advances the connection: connect, read, parse, write. Call once per frame.
func poll() -> void:
	if state == State.IDLE or state == State.CLOSED:
		return
	_tcp.poll()
	var status: StreamPeerTCP.Status = _tcp.get_status()
	if state == State.CONNECTING:
		if status == StreamPeerTCP.STATUS_CONNECTED:
			_outbuf.append_array(greeting())
			state = State.GREETING
		elif status != StreamPeerTCP.STATUS_CONNECTING:
			_fail(FAIL_CONNECT, "could not connect (status %d)" % status)
			return
	if status == StreamPeerTCP.STATUS_CONNECTED:
		# Read and parse before looking at the status again: a peer that sends ERROR and
		# closes leaves the ERROR in our buffer, and it must be reported as such.
		_read_available()
		_parse()
		_flush()
	elif state != State.CONNECTING:
		_fail(FAIL_LOST, "peer closed the connection")
		return
	if state != State.OPEN and state != State.CLOSED and Time.get_ticks_msec() > _deadline_ms:
		if state == State.CONNECTING:
			_fail(FAIL_CONNECT, "connect timed out")
		else:
			_fail(FAIL_TIMEOUT, "no ZMTP handshake within the time limit")


## The 64-byte ZMTP 3.1 greeting of a PLAIN client (rfc 23, "The Greeting"):
## signature %xFF 8*%x00 %x7F, version 3.1, mechanism "PLAIN" padded with NULs to 20 bytes,
## as-server 0, 31 bytes of filler.
static func greeting() -> PackedByteArray:
	var g := PackedByteArray()
	g.resize(64)
	g.fill(0)
	g[0] = 0xff
	g[9] = 0x7f
	g[10] = 3
	g[11] = 1
	var mech: PackedByteArray = "PLAIN".to_ascii_buffer()
	for i: int in mech.size():
		g[12 + i] = mech[i]
	return g


## One frame (rfc 23, "Framing"): flags, a 1-byte size (short) or an 8-byte network-order
## size (LONG, for bodies over 255 bytes), then the body.
static func encode_frame(body: PackedByteArray, flags: int) -> PackedByteArray:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	if body.size() > 255:
		out.put_u8(flags | FLAG_LONG)
		out.put_u64(body.size())
	else:
		out.put_u8(flags)
		out.put_u8(body.size())
	out.put_data(body)
	return out.data_array


## A command frame: name as a short string, then the command's data (rfc 23, "Commands").
static func encode_command(cmd_name: String, data: PackedByteArray) -> PackedByteArray:
	var body := PackedByteArray()
	var raw: PackedByteArray = cmd_name.to_ascii_buffer()
	body.append(raw.size())
	body.append_array(raw)
	body.append_array(data)
	return encode_frame(body, FLAG_COMMAND)


## PLAIN HELLO data (rfc 24): username and password, each a short string.
static func hello_data(username: String, password: String) -> PackedByteArray:
	var data := PackedByteArray()
	var user: PackedByteArray = username.to_utf8_buffer()
	var pwd: PackedByteArray = password.to_utf8_buffer()
	data.append(user.size())
	data.append_array(user)
	data.append(pwd.size())
	data.append_array(pwd)
	return data


## Metadata (rfc 23, "The Metadata"): name as a short string, value with a 4-byte length.
static func encode_metadata(props: Dictionary) -> PackedByteArray:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	for key: Variant in props:
		var k: PackedByteArray = String(key).to_ascii_buffer()
		var v: PackedByteArray = String(props[key]).to_utf8_buffer()
		out.put_u8(k.size())
		out.put_data(k)
		out.put_u32(v.size())
		out.put_data(v)
	return out.data_array


## Parses metadata; returns null if the bytes are malformed.
static func decode_metadata(data: PackedByteArray) -> Variant:
	var props: Dictionary = {}
	var i: int = 0
	while i < data.size():
		var klen: int = data[i]
		if i + 1 + klen + 4 > data.size():
			return null
		var key: String = data.slice(i + 1, i + 1 + klen).get_string_from_ascii()
		i += 1 + klen
		var vlen: int = (data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]
		i += 4
		if i + vlen > data.size():
			return null
		props[key.to_lower()] = data.slice(i, i + vlen).get_string_from_utf8()
		i += vlen
	return props


## True for an ERROR command body (rfc 23: [code]%d5 "ERROR" error-reason[/code]). libzmq
## 4.3.5 sends a refused PLAIN client [code]0x5e "RROR" 0x03 "400"[/code] (the name's size
## byte and first letter mangled), so that form counts too.
static func is_error_command(body: PackedByteArray) -> bool:
	if body.size() >= 6 and body[0] == 5 and body.slice(1, 6).get_string_from_ascii() == "ERROR":
		return true
	return body.size() >= 5 and body.slice(1, 5).get_string_from_ascii() == "RROR"


## The reason of an ERROR command (a short string after the name), "" if there is none.
static func error_reason(body: PackedByteArray) -> String:
	var start: int = 5 if body.size() >= 5 and body[1] == 0x52 else 6  # after "RROR"/"ERROR"
	if start >= body.size():
		return ""
	var size: int = body[start]
	return body.slice(start + 1, start + 1 + size).get_string_from_utf8()


## Tries to read one frame from the front of [param buf]. Returns an empty Dictionary when
## more bytes are needed, [code]{"error": reason}[/code] for a malformed header, else
## [code]{"flags": int, "body": PackedByteArray, "size": bytes consumed}[/code].
static func parse_frame(buf: PackedByteArray, max_body: int = MAX_FRAME_BYTES) -> Dictionary:
	if buf.is_empty():
		return {}
	var flags: int = buf[0]
	if flags & 0xf8:
		return {"error": "reserved flag bits set (0x%02x)" % flags}
	var header: int = 9 if flags & FLAG_LONG else 2
	if buf.size() < header:
		return {}
	var size: int = 0
	if flags & FLAG_LONG:
		if buf[1] >= 0x80:
			return {"error": "frame size above 2^63"}
		for k: int in range(1, 9):
			size = (size << 8) | buf[k]
	else:
		size = buf[1]
	if size > max_body:
		return {"error": "frame of %d bytes exceeds the %d-byte limit" % [size, max_body]}
	if buf.size() < header + size:
		return {}
	return {"flags": flags, "body": buf.slice(header, header + size), "size": header + size}


func _read_available() -> void:
	var available: int = _tcp.get_available_bytes()
	if available <= 0:
		return
	var got: Array = _tcp.get_partial_data(available)
	if got[0] == OK:
		_inbuf.append_array(got[1])


func _flush() -> void:
	if _outbuf.is_empty() or _tcp.get_status() != StreamPeerTCP.STATUS_CONNECTED:
		return
	var put: Array = _tcp.put_partial_data(_outbuf)
	var err: Error = put[0]
	var sent: int = put[1]
	if err != OK and err != ERR_BUSY:
		_fail(FAIL_LOST, "write failed (%s)" % error_string(err))
		return
	if sent > 0:
		_outbuf = _outbuf.slice(sent)


func _parse() -> void:
	while state != State.CLOSED:
		if state == State.GREETING:
			if _inbuf.size() < 64:
				return
			_on_greeting(_inbuf.slice(0, 64))
			_inbuf = _inbuf.slice(64)
			continue
		var frame: Dictionary = parse_frame(_inbuf)
		if frame.is_empty():
			return
		if frame.has("error"):
			var code: StringName = FAIL_TOO_LARGE if "limit" in frame["error"] else FAIL_PROTOCOL
			_fail(code, frame["error"])
			return
		_inbuf = _inbuf.slice(frame["size"])
		var flags: int = frame["flags"]
		if flags & FLAG_COMMAND:
			_on_command(frame["body"])
		else:
			_on_message_frame(frame["body"], flags & FLAG_MORE != 0)


func _on_greeting(g: PackedByteArray) -> void:
	if g[0] != 0xff or (g[9] & 0x01) == 0:
		_fail(FAIL_PROTOCOL, "peer is not speaking ZMTP (bad signature)")
		return
	if g[10] < 3:
		_fail(FAIL_PROTOCOL, "peer speaks ZMTP %d.%d; 3.0 or later is needed" % [g[10], g[11]])
		return
	var mech: String = g.slice(12, 32).get_string_from_ascii().strip_edges()
	if mech != "PLAIN":
		_fail(FAIL_AUTH, "peer wants security mechanism %s, not PLAIN" % mech)
		return
	_outbuf.append_array(encode_command("HELLO", hello_data(_username, _password)))
	state = State.AWAIT_WELCOME


func _on_command(body: PackedByteArray) -> void:
	if is_error_command(body):
		var reason: String = error_reason(body)
		var code: StringName = FAIL_AUTH if state != State.OPEN else FAIL_PEER_ERROR
		_fail(code, "peer sent ERROR %s" % reason)
		return
	if body.is_empty() or body[0] + 1 > body.size():
		_fail(FAIL_PROTOCOL, "malformed command frame")
		return
	var cmd_name: String = body.slice(1, 1 + body[0]).get_string_from_ascii()
	var data: PackedByteArray = body.slice(1 + body[0])
	match state:
		State.AWAIT_WELCOME:
			if cmd_name != "WELCOME":
				_fail(FAIL_PROTOCOL, "expected WELCOME, got %s" % cmd_name)
				return
			var props: Dictionary = {"Socket-Type": "DEALER"}
			_outbuf.append_array(encode_command("INITIATE", encode_metadata(props)))
			state = State.AWAIT_READY
		State.AWAIT_READY:
			_on_ready(cmd_name, data)
		State.OPEN:
			if cmd_name == "PING":
				# rfc 37: answer with PONG carrying the PING's context (after the 2-byte TTL).
				var context: PackedByteArray = data.slice(2)
				_outbuf.append_array(encode_command("PONG", context))
			# PONG and unknown commands are ignored (rfc 23: "SHOULD ignore").
		_:
			_fail(FAIL_PROTOCOL, "unexpected command %s" % cmd_name)


func _on_ready(cmd_name: String, data: PackedByteArray) -> void:
	if cmd_name != "READY":
		_fail(FAIL_PROTOCOL, "expected READY, got %s" % cmd_name)
		return
	var props: Variant = decode_metadata(data)
	if props == null:
		_fail(FAIL_PROTOCOL, "malformed READY metadata")
		return
	peer_metadata = props
	var peer_type: String = String(peer_metadata.get("socket-type", "")).to_upper()
	if peer_type not in COMPATIBLE_PEERS:
		_fail(FAIL_PROTOCOL, "a DEALER cannot talk to a %s socket" % peer_type)
		return
	state = State.OPEN
	handshake_completed.emit(peer_type)


func _on_message_frame(body: PackedByteArray, more: bool) -> void:
	if state != State.OPEN:
		_fail(FAIL_PROTOCOL, "message frame before the handshake completed")
		return
	_parts.append(body)
	if not more:
		var frames: Array[PackedByteArray] = _parts
		_parts = []
		message_received.emit(frames)


func _fail(code: StringName, reason: String) -> void:
	if state == State.CLOSED:
		return
	state = State.CLOSED
	_tcp.disconnect_from_host()
	failed.emit(code, reason)
