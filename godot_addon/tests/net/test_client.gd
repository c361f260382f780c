extends "res://tests/test_case.gd"
## client.gd against a real pyzmq ROUTER with PLAIN auth (tests/helpers/zap_router.py):
## ids, awaitable replies, error codes, events routed by id, time limits, reconnection.

const Client := preload("res://addons/parley/net/client.gd")
const Reply := preload("res://addons/parley/net/reply.gd")
const Pending := preload("res://addons/parley/net/pending.gd")
const ParleyErr := preload("res://addons/parley/net/error.gd")
const PyProcess := preload("res://tests/helpers/py_process.gd")

const PASSWORD := "client-test-token"

var _routers: Array[PyProcess] = []
var _client: Client = null


func after_each() -> void:
	if _client != null:
		_client.close()
	for router: PyProcess in _routers:
		router.kill()


func test_request_reply_and_error_codes() -> void:
	if not await _connect_new():
		return
	var ok: Reply = await _request("echo", {"n": 1})
	check(ok.ok, "ok reply")
	check_eq(ok.result.get("args"), {"n": 1}, "result")
	var bad: Reply = await _request("error", {"code": "persona_not_found"})
	check(not bad.ok, "error reply")
	check_eq(bad.error_code(), &"persona_not_found", "the protocol's code")
	check_eq(bad.error.message, "as asked", "message")
	check_eq(bad.error.details, {"op": "error"}, "details")


func test_concurrent_requests_resolve_to_their_own_ids() -> void:
	if not await _connect_new():
		return
	var pendings: Array[Pending] = []
	for i: int in 25:
		pendings.append(_client.send_request("echo", {"i": i}))
	var all_done: bool = await wait_until(
		func() -> bool: return pendings.all(func(p: Pending) -> bool: return p.done),
		15.0,
		_client.poll
	)
	check(all_done, "all 25 resolved")
	for i: int in pendings.size():
		var reply: Reply = pendings[i].reply
		check(reply != null and reply.ok, "#%d ok" % i)
		if reply != null and reply.ok:
			check_eq(reply.result.get("args"), {"i": i}, "#%d got its own result" % i)
			check_eq(reply.id, pendings[i].id, "#%d id" % i)


func test_events_are_routed_by_request_id() -> void:
	if not await _connect_new():
		return
	var seen: Array = []
	_client.event_received.connect(
		func(id: int, event: String, data: Dictionary) -> void: seen.append([id, event, data])
	)
	var other: Pending = _client.send_request("echo", {})
	var pending: Pending = _client.send_request("events", {"n": 4})
	var texts: PackedStringArray = PackedStringArray()
	pending.event_received.connect(
		func(_event: String, data: Dictionary) -> void: texts.append(data["text"])
	)
	await wait_until(func() -> bool: return pending.done, 10.0, _client.poll)
	var reply: Reply = pending.reply
	if not check(reply != null and reply.ok, "reply after the events"):
		return
	check_eq(texts, PackedStringArray(["0", "1", "2", "3"]), "events in order, on this request")
	check_eq(reply.events.size(), 4, "the reply keeps its events")
	check_eq(seen.size(), 4, "client-level signal too")
	check(seen.all(func(e: Array) -> bool: return e[0] == pending.id), "all carry its id")
	await wait_until(func() -> bool: return other.done, 5.0, _client.poll)
	check(other.reply.events.is_empty(), "the other request got none")


func test_timeout_resolves_and_late_replies_are_ignored() -> void:
	if not await _connect_new():
		return
	var started: int = Time.get_ticks_msec()
	var reply: Reply = await _request("silent", {}, 0.4)
	check_eq(reply.error_code(), ParleyErr.TIMEOUT, "timed out")
	check(Time.get_ticks_msec() - started >= 400, "not before its time limit")
	check_eq(_client.pending_count(), 0, "nothing left pending")
	var after: Reply = await _request("echo", {"still": true})
	check(after.ok, "the connection still works")


func test_unencodable_args_fail_at_once() -> void:
	var client := Client.new()
	var reply: Reply = await client.request("echo", {"node": RefCounted.new()})
	check_eq(reply.error_code(), ParleyErr.ENCODE_FAILED, "encode_failed")


func test_requests_wait_for_the_connection() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	_client = Client.new()
	var pending: Pending = _client.send_request("echo", {"early": true})
	_client.connect_to(router.endpoint(), PASSWORD)
	var done: bool = await wait_until(func() -> bool: return pending.done, 10.0, _client.poll)
	check(done and pending.reply.ok, "a request made before connecting is sent once connected")


func test_reconnects_after_the_peer_restarts() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	var port: int = int(router.ready_line["port"])
	_client = Client.new()
	var drops: Array = []
	_client.disconnected.connect(func(code: StringName, _why: String) -> void: drops.append(code))
	_client.connect_to(router.endpoint(), PASSWORD)
	check((await _request("echo", {})).ok, "first request")
	var in_flight: Pending = _client.send_request("silent", {}, 30.0)
	await wait_until(func() -> bool: return in_flight.sent, 5.0, _client.poll)
	router.kill()
	var failed: bool = await wait_until(func() -> bool: return in_flight.done, 10.0, _client.poll)
	check(failed, "the in-flight request resolves when the peer dies")
	if failed:
		check_eq(in_flight.reply.error_code(), ParleyErr.DISCONNECTED, "as disconnected")
	check(not drops.is_empty(), "disconnected was emitted")
	var again: PyProcess = await _start_router(["--port", str(port)])
	if again == null:
		return
	var back: bool = await wait_until(_client.is_open, 15.0, _client.poll)
	check(back, "the client reconnected by itself")
	check((await _request("echo", {"after": true})).ok, "and requests work again")


func test_wrong_token_fails_requests_with_auth_rejected() -> void:
	var router: PyProcess = await _start_router([])
	if router == null:
		return
	_client = Client.new()
	_client.connect_to(router.endpoint(), "not-the-token")
	var reply: Reply = await _request("echo", {}, 10.0)
	check_eq(reply.error_code(), ParleyErr.AUTH_REJECTED, "auth_rejected")
	var second: Reply = await _request("echo", {}, 1.0)
	check(not second.ok, "later requests fail too, no reconnect loop with a bad token")


func test_endpoint_parsing() -> void:
	check_eq(
		Client.parse_endpoint("tcp://127.0.0.1:5555"), {"host": "127.0.0.1", "port": 5555}, "v4"
	)
	check_eq(Client.parse_endpoint("tcp://[::1]:80"), {"host": "::1", "port": 80}, "v6")
	check_eq(Client.parse_endpoint("ipc:///tmp/x"), {}, "not tcp")
	check_eq(Client.parse_endpoint("tcp://host:0"), {}, "port 0")
	check_eq(Client.parse_endpoint("tcp://host:abc"), {}, "port text")


# --- helpers ---------------------------------------------------------------------------


func _request(op: String, args: Dictionary, timeout_s: float = 10.0) -> Reply:
	var pending: Pending = _client.send_request(op, args, timeout_s)
	await wait_until(func() -> bool: return pending.done, timeout_s + 5.0, _client.poll)
	if pending.reply == null:
		return Reply.failed(pending.id, &"test_gave_up", "never resolved")
	return pending.reply


func _connect_new() -> bool:
	var router: PyProcess = await _start_router([])
	if router == null:
		return false
	_client = Client.new()
	_client.connect_to(router.endpoint(), PASSWORD)
	return check(await wait_until(_client.is_open, 10.0, _client.poll), "client connects")


func _start_router(extra: PackedStringArray) -> PyProcess:
	var router := PyProcess.new()
	var args := PackedStringArray(["--password", PASSWORD])
	args.append_array(extra)
	var script: String = ProjectSettings.globalize_path("res://tests/helpers/zap_router.py")
	if not check(router.start(python(), script, args), "start zap_router.py"):
		return null
	_routers.append(router)
	var up: bool = await wait_until(router.poll_ready, 30.0)
	if not check(up, "router ready (stderr: %s)" % router.stderr_text()):
		return null
	return router
