class_name ParleyMsgpack
extends RefCounted
## MessagePack codec for the Parley wire protocol (one ZeroMQ frame = one msgpack map).
##
## Written against the MessagePack specification (msgpack/spec.md, "Formats"). Every format
## the protocol can carry is supported in every width: nil, bool, positive/negative fixint,
## uint 8/16/32/64, int 8/16/32/64, float 32/64, fixstr/str 8/16/32, bin 8/16/32,
## fixarray/array 16/32 and fixmap/map 16/32. Ext types (0xc7-0xc9, 0xd4-0xd8) are not
## used by the protocol and are rejected, as is 0xc1 ("never used").
##
## Decoding never crashes the engine and never loops on hostile input: every length is
## checked against the bytes that are really there before anything is read or allocated,
## nesting is capped at [constant MAX_DEPTH], and a uint 64 above 2^63-1 (outside GDScript's
## signed 64-bit [int]) is an [code]int_overflow[/code] error, never a silent wrap-around.
## Strings must be valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
## U+10FFFF). Errors are returned in a [ParleyMsgpack.Result], never pushed to the console.

## Deepest nesting of arrays/maps accepted by [method decode]. Protocol frames nest < 8.
const MAX_DEPTH := 64

## Error codes of [member Result.error]. Stable: the golden vectors name them.
const ERR_TRUNCATED := &"truncated"
const ERR_INVALID := &"invalid"
const ERR_UNSUPPORTED := &"unsupported"
const ERR_INT_OVERFLOW := &"int_overflow"
const ERR_BAD_UTF8 := &"bad_utf8"
const ERR_TOO_DEEP := &"too_deep"
const ERR_TRAILING := &"trailing_bytes"
const ERR_EMPTY := &"empty"

# Variant types written as a msgpack array.
const _LIST_TYPES: Array[int] = [
	TYPE_ARRAY,
	TYPE_PACKED_STRING_ARRAY,
	TYPE_PACKED_INT32_ARRAY,
	TYPE_PACKED_INT64_ARRAY,
	TYPE_PACKED_FLOAT32_ARRAY,
	TYPE_PACKED_FLOAT64_ARRAY,
]


## The outcome of [method encode] or [method decode]: [member ok] and either the value
## ([member value] / [member bytes]) or an error code and a human-readable message.
class Result:
	extends RefCounted
	var ok: bool = false
	var value: Variant = null
	var bytes: PackedByteArray = PackedByteArray()
	var error: StringName = &""
	var message: String = ""
	## Byte offset in the input where decoding failed (-1 when not applicable).
	var offset: int = -1


## Encodes [param value] (null, bool, int, float, String, StringName, PackedByteArray,
## Array, Dictionary, packed int/float/string arrays) using the smallest format of each
## kind, as the spec asks of serializers. Objects, vectors and other engine types fail with
## [code]unsupported[/code]; nesting deeper than [constant MAX_DEPTH] fails with
## [code]too_deep[/code].
static func encode(value: Variant) -> Result:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	var result := Result.new()
	var problem: String = _write(out, value, 0)
	if problem.is_empty():
		result.ok = true
		result.bytes = out.data_array
		result.value = value
	else:
		var cut: int = problem.find(":")
		result.error = StringName(problem.substr(0, cut))
		result.message = problem.substr(cut + 1)
	return result


## Decodes exactly one msgpack value that must span all of [param data].
## Fails with a [Result] whose [member Result.error] is one of the ERR_* constants.
static func decode(data: PackedByteArray) -> Result:
	var reader := _Reader.new(data)
	var result := Result.new()
	if data.is_empty():
		result.error = ERR_EMPTY
		result.message = "no bytes to decode"
		result.offset = 0
		return result
	var value: Variant = reader.read_value(0)
	if reader.error == &"" and reader.pos != data.size():
		reader.fail(ERR_TRAILING, "%d bytes after the value" % (data.size() - reader.pos))
	if reader.error != &"":
		result.error = reader.error
		result.message = reader.message
		result.offset = reader.error_offset
		return result
	result.ok = true
	result.value = value
	return result


# Returns "" on success or "code:message" on failure (kept as a string so the recursion
# needs no extra objects).
static func _write(out: StreamPeerBuffer, value: Variant, depth: int) -> String:
	if depth > MAX_DEPTH:
		return "too_deep:nesting deeper than %d" % MAX_DEPTH
	match typeof(value):
		TYPE_NIL:
			out.put_u8(0xc0)
		TYPE_BOOL:
			out.put_u8(0xc3 if value else 0xc2)
		TYPE_INT:
			_write_int(out, value)
		TYPE_FLOAT:
			# float 64 (0xcb): GDScript floats are doubles, so this loses nothing.
			out.put_u8(0xcb)
			out.put_double(value)
		TYPE_STRING, TYPE_STRING_NAME:
			_write_str(out, String(value).to_utf8_buffer())
		TYPE_PACKED_BYTE_ARRAY:
			_write_bin(out, value)
		_ when typeof(value) in _LIST_TYPES:
			var items: Array = Array(value)
			_write_header(out, items.size(), 0x90, 0xdc, 0xdd)
			for item: Variant in items:
				var problem: String = _write(out, item, depth + 1)
				if not problem.is_empty():
					return problem
		TYPE_DICTIONARY:
			var map: Dictionary = value
			_write_header(out, map.size(), 0x80, 0xde, 0xdf)
			for key: Variant in map:
				var problem: String = _write(out, key, depth + 1)
				if problem.is_empty():
					problem = _write(out, map[key], depth + 1)
				if not problem.is_empty():
					return problem
		_:
			return "unsupported:%s has no msgpack form" % type_string(typeof(value))
	return ""


static func _write_int(out: StreamPeerBuffer, n: int) -> void:
	if n >= 0:
		if n <= 0x7f:
			out.put_u8(n)  # positive fixint 0xxxxxxx
		elif n <= 0xff:
			out.put_u8(0xcc)
			out.put_u8(n)
		elif n <= 0xffff:
			out.put_u8(0xcd)
			out.put_u16(n)
		elif n <= 0xffffffff:
			out.put_u8(0xce)
			out.put_u32(n)
		else:
			out.put_u8(0xcf)
			out.put_u64(n)
	else:
		if n >= -32:
			out.put_u8(n & 0xff)  # negative fixint 111xxxxx
		elif n >= -0x80:
			out.put_u8(0xd0)
			out.put_8(n)
		elif n >= -0x8000:
			out.put_u8(0xd1)
			out.put_16(n)
		elif n >= -0x80000000:
			out.put_u8(0xd2)
			out.put_32(n)
		else:
			out.put_u8(0xd3)
			out.put_64(n)


static func _write_str(out: StreamPeerBuffer, utf8: PackedByteArray) -> void:
	var n: int = utf8.size()
	if n <= 31:
		out.put_u8(0xa0 | n)  # fixstr 101xxxxx
	elif n <= 0xff:
		out.put_u8(0xd9)
		out.put_u8(n)
	elif n <= 0xffff:
		out.put_u8(0xda)
		out.put_u16(n)
	else:
		out.put_u8(0xdb)
		out.put_u32(n)
	out.put_data(utf8)


static func _write_bin(out: StreamPeerBuffer, data: PackedByteArray) -> void:
	var n: int = data.size()
	if n <= 0xff:
		out.put_u8(0xc4)
		out.put_u8(n)
	elif n <= 0xffff:
		out.put_u8(0xc5)
		out.put_u16(n)
	else:
		out.put_u8(0xc6)
		out.put_u32(n)
	out.put_data(data)


static func _write_header(out: StreamPeerBuffer, n: int, fix: int, w16: int, w32: int) -> void:
	if n <= 15:
		out.put_u8(fix | n)
	elif n <= 0xffff:
		out.put_u8(w16)
		out.put_u16(n)
	else:
		out.put_u8(w32)
		out.put_u32(n)


## True when [param bytes] is well-formed UTF-8 per RFC 3629 section 4 (the table of
## well-formed byte sequences, also Unicode 15 Table 3-7).
static func is_valid_utf8(bytes: PackedByteArray) -> bool:
	return _Reader.valid_utf8(bytes)


# A cursor over the input. Each read checks the remaining length first.
class _Reader:
	extends RefCounted
	var data: PackedByteArray
	var pos: int = 0
	var error: StringName = &""
	var message: String = ""
	var error_offset: int = -1
	var _num := StreamPeerBuffer.new()

	func _init(bytes: PackedByteArray) -> void:
		data = bytes
		_num.big_endian = true
		_num.data_array = bytes

	func fail(code: StringName, why: String) -> void:
		if error == &"":
			error = code
			message = why
			error_offset = pos

	func _need(count: int, what: String) -> bool:
		if count > data.size() - pos:
			fail(
				ERR_TRUNCATED,
				"%s needs %d bytes at offset %d, %d left" % [what, count, pos, data.size() - pos]
			)
			return false
		return true

	func _uint(width: int, what: String) -> int:
		# Big-endian unsigned of 1, 2 or 4 bytes (always fits a signed 64-bit int).
		if not _need(width, what):
			return -1
		_num.seek(pos)
		var v: int = 0
		match width:
			1:
				v = _num.get_u8()
			2:
				v = _num.get_u16()
			4:
				v = _num.get_u32()
		pos += width
		return v

	func read_value(depth: int) -> Variant:
		if depth > MAX_DEPTH:
			fail(ERR_TOO_DEEP, "nesting deeper than %d" % MAX_DEPTH)
			return null
		if not _need(1, "a type byte"):
			return null
		var t: int = data[pos]
		pos += 1
		if t <= 0x7f:
			return t  # positive fixint 0xxxxxxx
		if t >= 0xe0:
			return t - 0x100  # negative fixint 111xxxxx
		if t <= 0xbf:
			return _fixed_size(t, depth)
		return _typed(t, depth)

	# fixmap 1000xxxx, fixarray 1001xxxx, fixstr 101xxxxx: the length is in the type byte.
	func _fixed_size(t: int, depth: int) -> Variant:
		if t >= 0xa0:
			return _str(t & 0x1f)
		if t >= 0x90:
			return _array(t & 0x0f, depth)
		return _map(t & 0x0f, depth)

	# 0xc0-0xdf: one type byte, then a fixed-width number or a length.
	func _typed(t: int, depth: int) -> Variant:
		var value: Variant = null
		match t:
			0xc0:
				value = null
			0xc2, 0xc3:
				value = t == 0xc3
			0xc4, 0xc5, 0xc6:
				var n: int = _uint(1 << (t - 0xc4), "a bin length")
				value = null if n < 0 else _bin(n)
			0xca, 0xcb:
				value = _float(4 if t == 0xca else 8)
			0xcc, 0xcd, 0xce:
				var n: int = _uint(1 << (t - 0xcc), "a uint")
				value = null if n < 0 else n
			0xcf:
				value = _uint64()
			0xd0, 0xd1, 0xd2, 0xd3:
				value = _sint(1 << (t - 0xd0))
			0xd9, 0xda, 0xdb:
				var n: int = _uint(1 << (t - 0xd9), "a str length")
				value = null if n < 0 else _str(n)
			0xdc, 0xdd:
				var n: int = _uint(2 << (t - 0xdc), "an array length")
				value = null if n < 0 else _array(n, depth)
			0xde, 0xdf:
				var n: int = _uint(2 << (t - 0xde), "a map length")
				value = null if n < 0 else _map(n, depth)
			0xc1:
				pos -= 1
				fail(ERR_INVALID, "0xc1 is never used in msgpack")
			_:
				pos -= 1
				fail(ERR_UNSUPPORTED, "type 0x%02x (ext) is not used by the protocol" % t)
		return value

	func _float(width: int) -> Variant:
		if not _need(width, "a float %d" % (width * 8)):
			return null
		_num.seek(pos)
		pos += width
		return _num.get_float() if width == 4 else _num.get_double()

	func _uint64() -> Variant:
		if not _need(8, "a uint 64"):
			return null
		if data[pos] >= 0x80:
			fail(ERR_INT_OVERFLOW, "uint 64 above 2^63-1 does not fit a GDScript int")
			return null
		_num.seek(pos)
		pos += 8
		return _num.get_64()

	func _sint(width: int) -> Variant:
		if not _need(width, "an int"):
			return null
		_num.seek(pos)
		pos += width
		match width:
			1:
				return _num.get_8()
			2:
				return _num.get_16()
			4:
				return _num.get_32()
		return _num.get_64()

	func _str(n: int) -> Variant:
		if not _need(n, "a str"):
			return null
		var raw: PackedByteArray = data.slice(pos, pos + n)
		if not valid_utf8(raw):
			fail(ERR_BAD_UTF8, "str at offset %d is not valid UTF-8" % pos)
			return null
		pos += n
		if not raw.has(0):
			return raw.get_string_from_utf8()
		# get_string_from_utf8() stops at U+0000; keep embedded NULs (valid UTF-8).
		var pieces: PackedStringArray = PackedStringArray()
		var start: int = 0
		for i: int in raw.size() + 1:
			if i == raw.size() or raw[i] == 0:
				pieces.append(raw.slice(start, i).get_string_from_utf8())
				start = i + 1
		return String.chr(0).join(pieces)

	func _bin(n: int) -> Variant:
		if not _need(n, "a bin"):
			return null
		var raw: PackedByteArray = data.slice(pos, pos + n)
		pos += n
		return raw

	func _array(n: int, depth: int) -> Variant:
		# Every element takes at least one byte: reject impossible counts before looping.
		if not _need(n, "%d array items" % n):
			return null
		var out: Array = []
		for _i: int in n:
			var item: Variant = read_value(depth + 1)
			if error != &"":
				return null
			out.append(item)
		return out

	func _map(n: int, depth: int) -> Variant:
		if not _need(n * 2, "%d map entries" % n):
			return null
		var out: Dictionary = {}
		for _i: int in n:
			var key: Variant = read_value(depth + 1)
			if error != &"":
				return null
			if typeof(key) == TYPE_ARRAY or typeof(key) == TYPE_DICTIONARY:
				fail(ERR_UNSUPPORTED, "map key is an array or map")
				return null
			var item: Variant = read_value(depth + 1)
			if error != &"":
				return null
			out[key] = item
		return out

	## RFC 3629 section 4 / Unicode Table 3-7: rejects overlong forms, surrogates,
	## code points above U+10FFFF and cut-off sequences.
	static func valid_utf8(bytes: PackedByteArray) -> bool:
		var i: int = 0
		var n: int = bytes.size()
		while i < n:
			var b0: int = bytes[i]
			if b0 < 0x80:
				i += 1
				continue
			var need: int = 0
			var lo: int = 0x80
			var hi: int = 0xbf
			if b0 >= 0xc2 and b0 <= 0xdf:
				need = 1
			elif b0 >= 0xe0 and b0 <= 0xef:
				need = 2
				if b0 == 0xe0:
					lo = 0xa0  # no overlong 3-byte forms
				elif b0 == 0xed:
					hi = 0x9f  # no UTF-16 surrogates
			elif b0 >= 0xf0 and b0 <= 0xf4:
				need = 3
				if b0 == 0xf0:
					lo = 0x90  # no overlong 4-byte forms
				elif b0 == 0xf4:
					hi = 0x8f  # nothing above U+10FFFF
			else:
				return false  # 0x80-0xc1 cannot start a sequence; 0xf5-0xff never appear
			if i + need >= n:
				return false
			var b1: int = bytes[i + 1]
			if b1 < lo or b1 > hi:
				return false
			for k: int in range(2, need + 1):
				var bk: int = bytes[i + k]
				if bk < 0x80 or bk > 0xbf:
					return false
			i += need + 1
		return true
