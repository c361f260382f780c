extends "res://tests/test_case.gd"
## zmtp.gd: its bytes against the shared handshake vector, its frame parser fed piece by
## piece, and the real thing against a pyzmq ROUTER with PLAIN auth through pyzmq's ZAP
## authenticator (tests/helpers/zap_router.py, a real subprocess on 127.0.0.1).

const Zmtp := preload("res://addons/parley/net/zmtp.gd")
const Msgpack := preload("res://addons/parley/net/msgpack.gd")
const PyProcess := preload("res://tests/helpers/py_process.gd")

const PASSWORD := "s3cret-token-for-tests"

var _routers: Array[PyProcess] = []
var _events: Array[Array] = []


func after_each() -> void:
	for router: PyProcess in _routers:
		router.kill()


func test_client_bytes_match_the_shared_vector() -> void:
	var v: Dictionary = _handshake_vector()
	check_eq(Zmtp.greeting().hex_encode(), v["greeting"], "greeting")
	var hello: PackedByteArray = Zmtp.encode_command(
		"HELLO", Zmtp.hello_data(v["username"], v["password"])
	)
	check_eq(hello.hex_encode(), v["hello"], "HELLO")
	var initiate: PackedByteArray = Zmtp.encode_command(
		"INITIATE", Zmtp.encode_metadata({"Socket-Type": "DEALER"})
	)
	check_eq(initiate.hex_encode(), v["initiate"], "INITIATE")
	var short: PackedByteArray = Zmtp.encode_frame(str(v["short_message_body"]).hex_decode(), 0)
	check_eq(short.hex_encode(), v["short_message"], "short frame")
	var long: PackedByteArray = Zmtp.encode_frame(str(v["long_message_body"]).hex_decode(), 0)
	check_eq(long.hex_encode(), v["long_message"], "long frame")
	var more: PackedByteArray = Zmtp.encode_frame(
		str(v["more_frame_body"]).hex_decode(), Zmtp.FLAG_MORE
	)
	check_eq(more.hex_encode(), v["more_frame"], "MORE frame")
	check_eq(
		Zmtp.encode_command("PONG", "ctx42".to_ascii_buffer()).hex_encode(), v["pong_reply"], "PONG"
	)


func test_frame_parser_waits_for_whole_frames() -> void:
	var v: Dictionary = _handshake_vector()
	var whole: PackedByteArray = str(v["long_message"]).hex_decode()
	for cut: int in [0, 1, 5, 9, 10, whole.size() - 1]:
		check_eq(Zmtp.parse_frame(whole.slice(0, cut)), {}, "prefix of %d bytes" % cut)
	var two: PackedByteArray = whole.duplicate()
	two.append_array(str(v["short_message"]).hex_decode())
	var first: Dictionary = Zmtp.parse_frame(two)
	check_eq(first.get("size"), whole.size(), "consumes exactly the first frame")
	check_eq(first.get("body"), str(v["long_message_body"]).hex_decode(), "long body")
	var second: Dictionary = Zmtp.parse_frame(two.slice(first["size"]))
	check_eq(second.get("body"), PackedByteArray([0x80]), "then the short one")


func test_frame_parser_refuses_bad_headers() -> void:
	check(Zmtp.parse_frame(PackedByteArray([0x08, 0x00])).has("error"), "reserved bit")
	var huge := PackedByteArray([0x02, 0, 0, 0, 0, 0x10, 0, 0, 0])
	check(Zmtp.parse_frame(huge).has("error"), "256 MiB frame over the limit")
	var sign := PackedByteArray([0x02, 0x80, 0, 0, 0, 0, 0, 0, 1])
	check(Zmtp.parse_frame(sign).has("error"), "size above 2^63")


func test_error_command_forms() -> void:
	var spec_form: PackedByteArray = Zmtp.encode_command("ERROR", PackedByteArray([3, 52, 48, 48]))
	check(Zmtp.is_error_command(spec_form.slice(2)), "rfc 23 form")
	check_eq(Zmtp.error_reason(spec_form.slice(2)), "400", "its reason")
	var libzmq_form := PackedByteArray([0x5e, 0x52, 0x52, 0x4f, 0x52, 3, 52, 48, 48])
	check(Zmtp.is_error_command(libzmq_form), "libzmq 4.3.5 form")
	check_eq(Zmtp.error_reason(libzmq_form), "400", "its reason")
	check(not Zmtp.is_error_command("\u0007WELCOME".to_ascii_buffer()), "WELCOME is not")


func test_handshake_and_request_reply_against_pyzmq() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	var peer := Zmtp.new()
	_watch(peer)
	check_eq(peer.connect_to("127.0.0.1", _port(router), "parley", PASSWORD), OK, "connect")
	var opened: bool = await wait_until(peer.is_open, 10.0, peer.poll)
	if not check(opened, "handshake completes (events %s)" % [_events]):
		return
	check_eq(peer.peer_metadata.get("socket-type"), "ROUTER", "peer is a ROUTER")
	check(peer.send(_request(1, "echo", {"hello": "world"})), "send")
	var reply: Dictionary = await _next_reply(peer)
	check_eq(reply.get("id"), 1, "reply id")
	check_eq(reply.get("result", {}).get("args"), {"hello": "world"}, "echoed args")
	peer.close()


func test_long_frames_both_ways() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	var peer: Zmtp = await _open_peer(router, PASSWORD)
	if peer == null:
		return
	var blob := PackedByteArray()
	blob.resize(300000)
	for i: int in blob.size():
		blob[i] = (i * 7) & 0xff
	check(peer.send(_request(2, "echo", {"blob": blob})), "send 300 kB")
	var reply: Dictionary = await _next_reply(peer)
	check_eq(reply.get("result", {}).get("args", {}).get("blob"), blob, "300 kB came back")
	peer.close()


func test_more_flag_assembles_one_message() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	var peer: Zmtp = await _open_peer(router, PASSWORD)
	if peer == null:
		return
	_events.clear()
	peer.send(_request(3, "multipart", {}))
	var got: bool = await wait_until(
		func() -> bool: return not _messages().is_empty(), 10.0, peer.poll
	)
	check(got, "a message arrived")
	if got:
		var parts: Array = _messages()[0]
		check_eq(parts.size(), 2, "two frames in one message")
		check_eq(parts[0], "part-one".to_ascii_buffer(), "first frame")
	peer.close()


func test_heartbeat_pings_are_answered() -> void:
	# The router PINGs every 100 ms and drops a peer that does not PONG within 300 ms.
	var router: PyProcess = await _start_router(["--heartbeat-ms", "100"])
	if router == null:
		return
	var peer: Zmtp = await _open_peer(router, PASSWORD)
	if peer == null:
		return
	var start: int = Time.get_ticks_msec()
	await wait_until(func() -> bool: return Time.get_ticks_msec() - start > 1500, 5.0, peer.poll)
	check(peer.is_open(), "still connected after 1.5 s of heartbeats (%s)" % [_events])
	peer.send(_request(4, "echo", {}))
	var reply: Dictionary = await _next_reply(peer)
	check_eq(reply.get("id"), 4, "and still answered")
	peer.close()


func test_wrong_password_fails_cleanly_and_nothing_gets_through() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	var peer := Zmtp.new()
	_watch(peer)
	peer.connect_to("127.0.0.1", _port(router), "parley", "wrong-password")
	var ended: bool = await wait_until(
		func() -> bool: return peer.state == Zmtp.State.CLOSED, 10.0, peer.poll
	)
	check(ended, "the connection ends")
	var fails: Array = _events.filter(func(e: Array) -> bool: return e[0] == "failed")
	check_eq(fails.size(), 1, "exactly one failure")
	if fails.size() == 1:
		check_eq(fails[0][1], Zmtp.FAIL_AUTH, "typed as auth_rejected")
		check("400" in str(fails[0][2]), "carries libzmq's reason 400: %s" % fails[0][2])
	check(not peer.send(_request(5, "echo", {})), "nothing can be sent")
	for _i: int in 20:  # polling a closed peer is a no-op, not a spin or an error
		peer.poll()
	# The router saw no application message from it.
	var good: Zmtp = await _open_peer(router, PASSWORD)
	if good == null:
		return
	good.send(_request(6, "stats", {}))
	var stats: Dictionary = await _next_reply(good)
	check_eq(stats.get("result", {}).get("received"), 1, "only the good peer's request arrived")
	good.close()


func test_connection_refused_is_a_typed_failure() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	var port: int = _port(router)
	router.kill()
	await wait_until(func() -> bool: return not router.is_running(), 10.0)
	var peer := Zmtp.new()
	_watch(peer)
	peer.connect_to("127.0.0.1", port, "parley", PASSWORD, 3000)
	await wait_until(func() -> bool: return peer.state == Zmtp.State.CLOSED, 10.0, peer.poll)
	var fails: Array = _events.filter(func(e: Array) -> bool: return e[0] == "failed")
	check_eq(fails.size(), 1, "one failure")
	if fails.size() == 1:
		check(fails[0][1] in [Zmtp.FAIL_CONNECT, Zmtp.FAIL_LOST], "typed: %s" % fails[0][1])


# --- helpers ---------------------------------------------------------------------------


func _start_router(extra: PackedStringArray) -> PyProcess:
	var router := PyProcess.new()
	var args := PackedStringArray(["--password", PASSWORD])
	args.append_array(extra)
	if not check(router.start(python(), _router_script(), args), "start zap_router.py"):
		return null
	_routers.append(router)
	var up: bool = await wait_until(router.poll_ready, 30.0)
	if not check(up, "router ready (stderr: %s)" % router.stderr_text()):
		return null
	return router


func _open_peer(router: PyProcess, password: String) -> Zmtp:
	var peer := Zmtp.new()
	_watch(peer)
	peer.connect_to("127.0.0.1", _port(router), "parley", password)
	var opened: bool = await wait_until(peer.is_open, 10.0, peer.poll)
	return peer if check(opened, "handshake (%s)" % [_events]) else null


func _next_reply(peer: Zmtp) -> Dictionary:
	var before: int = _messages().size()
	var got: bool = await wait_until(
		func() -> bool: return _messages().size() > before, 15.0, peer.poll
	)
	if not check(got, "a reply arrives (%s)" % [_events.slice(-3)]):
		return {}
	var parts: Array = _messages()[before]
	var decoded: Msgpack.Result = Msgpack.decode(parts[parts.size() - 1])
	check(decoded.ok, "reply decodes")
	return decoded.value if decoded.ok else {}


func _watch(peer: Zmtp) -> void:
	peer.handshake_completed.connect(func(kind: String) -> void: _events.append(["open", kind]))
	peer.message_received.connect(
		func(parts: Array[PackedByteArray]) -> void: _events.append(["message", parts])
	)
	peer.failed.connect(
		func(code: StringName, why: String) -> void: _events.append(["failed", code, why])
	)


func _messages() -> Array:
	var out: Array = []
	for e: Array in _events:
		if e[0] == "message":
			out.append(e[1])
	return out


static func _request(id: int, op: String, args: Dictionary) -> PackedByteArray:
	return Msgpack.encode({"id": id, "op": op, "args": args}).bytes


static func _port(router: PyProcess) -> int:
	return int(router.ready_line.get("port", 0))


static func _router_script() -> String:
	return ProjectSettings.globalize_path("res://tests/helpers/zap_router.py")


static func _handshake_vector() -> Dictionary:
	var path: String = repo_path("engine_bindings/vectors/zmtp/handshake.json")
	return JSON.parse_string(FileAccess.get_file_as_string(path))
