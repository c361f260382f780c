extends "res://tests/test_case.gd"
## msgpack.gd against the shared golden vectors (engine_bindings/vectors/, the same files
## tests/bindings/test_vectors.py plays through msgpack-python), plus hostile input.

const Msgpack := preload("res://addons/parley/net/msgpack.gd")


func test_every_vector() -> void:
	var names: Array = _index()
	check(names.size() > 100, "the index lists the vectors (%d)" % names.size())
	var valid: int = 0
	var invalid: int = 0
	for case_name: String in names:
		var data: PackedByteArray = FileAccess.get_file_as_bytes(_vector(case_name + ".msgpack"))
		var doc: Dictionary = JSON.parse_string(
			FileAccess.get_file_as_string(_vector(case_name + ".json"))
		)
		var got: Msgpack.Result = Msgpack.decode(data)
		if doc["expect"] == "error":
			invalid += 1
			check(not got.ok, "%s must be refused" % case_name)
			check_eq(got.error, StringName(doc["error"]), "%s error code" % case_name)
			continue
		valid += 1
		if doc.get("int64_overflow", false):
			check_eq(got.error, Msgpack.ERR_INT_OVERFLOW, "%s beyond int64" % case_name)
			continue
		if not check(got.ok, "%s decodes (%s)" % [case_name, got.message]):
			continue
		var want: Variant = _from_tagged(doc["value"])
		var diff: String = _diff(got.value, want, "$")
		check(diff.is_empty(), "%s: %s" % [case_name, diff])
		if doc["canonical"]:
			var encoded: Msgpack.Result = Msgpack.encode(want)
			check(encoded.ok, "%s encodes" % case_name)
			check(encoded.bytes == data, "%s re-encodes to the same bytes" % case_name)
	check(valid > 60 and invalid > 30, "ran %d valid and %d invalid vectors" % [valid, invalid])


func test_round_trip_of_a_protocol_frame() -> void:
	var frame: Dictionary = {
		"id": 4294967296,
		"op": "conversation.say",
		"args": {"conversation": "c-1", "text": "Grüße, 🦊!", "stream": true, "n": -129},
		"floats": [0.5, -1e300, 3.25],
		"raw": PackedByteArray([0, 255, 16]),
		"nothing": null,
	}
	var encoded: Msgpack.Result = Msgpack.encode(frame)
	check(encoded.ok, "encodes")
	var decoded: Msgpack.Result = Msgpack.decode(encoded.bytes)
	check(decoded.ok, "decodes")
	check_eq(_diff(decoded.value, frame, "$"), "", "round trip")


func test_engine_types_without_a_msgpack_form_are_refused() -> void:
	for value: Variant in [Vector2(1, 2), RefCounted.new(), Color.RED, {"k": [Rect2()]}]:
		var got: Msgpack.Result = Msgpack.encode(value)
		check(not got.ok, "%s refused" % type_string(typeof(value)))
		check_eq(got.error, Msgpack.ERR_UNSUPPORTED, "error code")


func test_string_names_and_packed_arrays_encode_as_str_and_array() -> void:
	var got: Msgpack.Result = Msgpack.decode(
		Msgpack.encode([&"op", PackedStringArray(["a"]), PackedInt32Array([1, -1])]).bytes
	)
	check_eq(got.value, ["op", ["a"], [1, -1]], "decoded")


func test_nesting_limit_both_ways() -> void:
	var deep: Array = []
	var inner: Array = deep
	for _i: int in Msgpack.MAX_DEPTH + 2:
		var next: Array = []
		inner.append(next)
		inner = next
	check_eq(Msgpack.encode(deep).error, Msgpack.ERR_TOO_DEEP, "encode refuses")


func test_random_garbage_never_crashes_or_hangs() -> void:
	# Deterministic: every run feeds the same 3000 byte strings, mostly type bytes that
	# announce lengths they do not have.
	var rng := RandomNumberGenerator.new()
	rng.seed = 20240607
	var refused: int = 0
	var started: int = Time.get_ticks_msec()
	for _i: int in 3000:
		var data := PackedByteArray()
		for _j: int in rng.randi_range(1, 24):
			data.append(rng.randi_range(0, 255))
		var got: Msgpack.Result = Msgpack.decode(data)
		if not got.ok:
			refused += 1
			check(got.error != &"", "a refusal has a code")
	check(refused > 1500, "most garbage is refused (%d)" % refused)
	check(Time.get_ticks_msec() - started < 60000, "no input made the decoder crawl")


func test_utf8_validator() -> void:
	check(Msgpack.is_valid_utf8("héllo 日本 🦊".to_utf8_buffer()), "valid text")
	check(not Msgpack.is_valid_utf8(PackedByteArray([0xed, 0xa0, 0x80])), "surrogate")
	check(not Msgpack.is_valid_utf8(PackedByteArray([0xc0, 0xaf])), "overlong")
	check(not Msgpack.is_valid_utf8(PackedByteArray([0xf0, 0x9f, 0xa6])), "cut")


static func _vector(file_name: String) -> String:
	return repo_path("engine_bindings/vectors").path_join(file_name)


func _index() -> Array:
	var text: String = FileAccess.get_file_as_string(_vector("index.json"))
	var doc: Variant = JSON.parse_string(text)
	if not check(doc is Dictionary, "index.json readable at %s" % _vector("index.json")):
		return []
	return doc["cases"]


## Tagged JSON value (engine_bindings/vectors/README.md) -> the Variant msgpack.gd gives.
static func _from_tagged(tagged: Dictionary) -> Variant:
	var tag: String = tagged.keys()[0]
	var v: Variant = tagged[tag]
	match tag:
		"nil":
			return null
		"bool":
			return bool(v)
		"int":
			return str(v).to_int()
		"float64":
			return _bits(str(v)).decode_double(0)
		"float32":
			return _bits(str(v)).decode_float(0)
		"str":
			return str(v)
		"bin":
			return str(v).hex_decode()
		"array":
			var out: Array = []
			for item: Dictionary in v:
				out.append(_from_tagged(item))
			return out
		"map":
			var out: Dictionary = {}
			for pair: Array in v:
				out[_from_tagged(pair[0])] = _from_tagged(pair[1])
			return out
	return "unknown tag %s" % tag


## Big-endian hex -> little-endian bytes, ready for decode_float/decode_double.
static func _bits(hex: String) -> PackedByteArray:
	var raw: PackedByteArray = hex.hex_decode()
	raw.reverse()
	return raw


## "" when equal: same types, floats equal bit for bit, map keys in the same order.
static func _diff(got: Variant, want: Variant, path: String) -> String:
	if typeof(got) != typeof(want):
		return "%s: %s != %s" % [path, type_string(typeof(got)), type_string(typeof(want))]
	match typeof(want):
		TYPE_FLOAT:
			var a := PackedByteArray()
			a.resize(8)
			a.encode_double(0, got)
			var b := PackedByteArray()
			b.resize(8)
			b.encode_double(0, want)
			return "" if a == b else "%s: %s != %s" % [path, got, want]
		TYPE_ARRAY:
			if got.size() != want.size():
				return "%s: %d items != %d" % [path, got.size(), want.size()]
			for i: int in want.size():
				var d: String = _diff(got[i], want[i], "%s[%d]" % [path, i])
				if not d.is_empty():
					return d
			return ""
		TYPE_DICTIONARY:
			if got.keys() != want.keys():
				return "%s: keys %s != %s" % [path, got.keys(), want.keys()]
			for k: Variant in want:
				var d: String = _diff(got[k], want[k], "%s[%s]" % [path, k])
				if not d.is_empty():
					return d
			return ""
	return "" if got == want else "%s: %s != %s" % [path, str(got), str(want)]
