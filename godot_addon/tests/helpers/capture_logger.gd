extends Logger
## Keeps what the engine prints (print(), push_warning() ...) while it is added with
## [method OS.add_logger] (Godot 4.5+), so a test can check what was printed.

var lines: PackedStringArray = PackedStringArray()
var _mutex: Mutex = Mutex.new()


func _log_message(message: String, _error: bool) -> void:
	_mutex.lock()
	lines.append(message)
	_mutex.unlock()


## The kept lines that contain [param needle].
func matching(needle: String) -> PackedStringArray:
	_mutex.lock()
	var found := PackedStringArray()
	for text_line: String in lines:
		if needle in text_line:
			found.append(text_line)
	_mutex.unlock()
	return found
