extends RefCounted
## Reading one field of a protocol map into a typed value: the one place where the typed
## results (ParleyLine, ParleyOption, ParleyAffinity, ParleyGoal, ParleyMemory) decide what
## a missing or mistyped field becomes. The protocol never coerces types ("5" is not 5), so
## neither do these: a value of the wrong type counts as missing.


## [param data][[param key]] if it is a String, else "".
static func text(data: Dictionary, key: String) -> String:
	var value: Variant = data.get(key)
	return value if value is String else ""


## [param data][[param key]] if it is a number, else [param fallback].
static func number(data: Dictionary, key: String, fallback: float = 0.0) -> float:
	var value: Variant = data.get(key)
	return float(value) if value is float or value is int else fallback


## [param data][[param key]] if it is a whole number (an int, or a float without a
## fraction, as ParleyAffinity reads its delta), else [param fallback]. An int is read as
## it is, so a large id keeps every digit.
static func integer(data: Dictionary, key: String, fallback: int = 0) -> int:
	var value: Variant = data.get(key)
	if value is int:
		return value
	if value is float and is_finite(value) and value == floorf(value):
		return int(value)
	return fallback


## True only when [param data][[param key]] is the bool true (comparing a String with a
## bool is a script error in Godot 4, so the type is checked first).
static func flag(data: Dictionary, key: String) -> bool:
	var value: Variant = data.get(key)
	return value is bool and value


## The maps in the list [param data][[param key]], in order (items that are not maps are
## skipped); empty when it is not a list.
static func maps(data: Dictionary, key: String) -> Array[Dictionary]:
	var out: Array[Dictionary] = []
	var value: Variant = data.get(key)
	if value is Array:
		for item: Variant in value:
			if item is Dictionary:
				out.append(item)
	return out


## [param data][[param key]] as a Dictionary, else an empty one.
static func map(data: Dictionary, key: String) -> Dictionary:
	var value: Variant = data.get(key)
	return value if value is Dictionary else {}
