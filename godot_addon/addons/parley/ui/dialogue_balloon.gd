class_name ParleyDialogueBalloon
extends CanvasLayer
## A dialogue balloon for a [ParleyNPC]: the NPC's name and line (revealed as streamed text
## arrives, then typed out), its answer options as buttons, and a text box for free input.
## Keyboard and gamepad work through Godot's ui_* actions: up/down move between options,
## accept picks one, cancel closes the balloon (and ends the conversation).
##
## [codeblock]
## var balloon := preload("res://addons/parley/ui/dialogue_balloon.tscn").instantiate()
## add_child(balloon)
## balloon.open($Ansel/ParleyNPC)
## [/codeblock]

## The player chose an option (or typed a line); [param text] was said to the NPC.
signal player_spoke(text: String)
## The NPC's whole line is on screen.
signal line_shown(line: Dictionary)
## The balloon was closed.
signal closed

const ReplyScript := preload("res://addons/parley/net/reply.gd")
const OptionScript := preload("res://addons/parley/api/option.gd")

## How fast text is typed out once known, in characters per second (0 = at once).
@export var characters_per_second: float = 90.0
## Placeholder of the free-text box.
@export var input_hint: String = "Say something…"

## The NPC being talked to.
var npc: Node = null
## True while waiting for the NPC's answer.
var busy: bool = false

var _panel: PanelContainer
var _name_label: Label
var _text: RichTextLabel
var _options: VBoxContainer
var _input: LineEdit
var _send: Button
var _target_text: String = ""
var _revealed: float = 0.0
var _streaming: bool = false


func _ready() -> void:
	layer = 10
	_build()
	visible = false


func _process(delta: float) -> void:
	var total: int = _target_text.length()
	if _text.visible_characters < 0 or _text.visible_characters >= total:
		return
	if characters_per_second <= 0.0:
		_text.visible_characters = -1
		return
	_revealed = minf(_revealed + delta * characters_per_second, total)
	_text.visible_characters = int(_revealed)


func _unhandled_input(event: InputEvent) -> void:
	if visible and event.is_action_pressed("ui_cancel"):
		get_viewport().set_input_as_handled()
		close()


## Shows the balloon for [param target] (a [ParleyNPC]) and opens the conversation.
func open(target: Node) -> void:
	if npc != null and npc != target:
		_disconnect_npc()
	npc = target
	if not npc.is_connected("line_streamed", _on_npc_line_streamed):
		npc.connect("line_streamed", _on_npc_line_streamed)
		npc.connect("line_reset", _on_npc_line_reset)
	visible = true
	_name_label.text = str(npc.call("shown_name"))
	_set_line("…", false)
	_set_busy(true)
	var reply: ReplyScript = await npc.call("talk")
	if not is_inside_tree() or npc != target:
		return
	_show_reply(reply)


## Says [param text] to the NPC and shows the answer as it streams in.
func say(text: String) -> void:
	if npc == null or busy or text.strip_edges().is_empty():
		return
	var target: Node = npc
	player_spoke.emit(text)
	_clear_options()
	_set_busy(true)
	_streaming = true
	_set_line("", false)
	var reply: ReplyScript = await target.call("say", text)
	if not is_inside_tree() or npc != target:
		return
	_streaming = false
	_show_reply(reply)


## Hides the balloon and ends the conversation.
func close() -> void:
	if not visible:
		return
	visible = false
	var target: Node = npc
	_disconnect_npc()
	npc = null
	_set_busy(false)
	closed.emit()
	if target != null and bool(target.call("is_talking")):
		await target.call("leave")


## The option buttons currently shown (for tests and custom navigation).
func option_buttons() -> Array[Button]:
	var out: Array[Button] = []
	for child: Node in _options.get_children():
		if child is Button and not child.is_queued_for_deletion():
			out.append(child)
	return out


## The text the balloon is showing (or revealing) for the NPC.
func shown_text() -> String:
	return _target_text


func _show_reply(reply: ReplyScript) -> void:
	_set_busy(false)
	if not reply.ok:
		var why: String = reply.error.message if reply.error != null else "no answer"
		_set_line("[i](%s: %s)[/i]" % [reply.error_code(), why], true)
		_add_option({"text": "Leave", "intent": "leave"})
		_focus_first()
		return
	var line: Dictionary = reply.line.to_dict()
	if not reply.line.name.is_empty():
		_name_label.text = reply.line.name
	var text: String = reply.line.text
	# Already on screen if it was streamed: then do not type it out a second time.
	var streamed: bool = (
		not _target_text.is_empty() and _target_text.strip_edges() == text.strip_edges()
	)
	_set_line(text, not streamed)
	_clear_options()
	var options: Array[Dictionary] = []
	for option: OptionScript in reply.options:
		options.append({"text": option.text, "intent": option.intent})
	for option: Dictionary in options:
		_add_option(option)
	if not options.any(func(o: Dictionary) -> bool: return o.get("intent") == "leave"):
		_add_option({"text": "Goodbye.", "intent": "leave"})
	_focus_first()
	line_shown.emit(line)


func _set_line(text: String, typed: bool) -> void:
	_target_text = text
	_text.text = text
	_revealed = 0.0
	_text.visible_characters = 0 if typed and characters_per_second > 0.0 else -1


func _set_busy(value: bool) -> void:
	busy = value
	_input.editable = not value
	_send.disabled = value
	for button: Button in option_buttons():
		button.disabled = value


func _clear_options() -> void:
	for child: Node in _options.get_children():
		child.queue_free()


func _add_option(option: Dictionary) -> void:
	var button := Button.new()
	button.text = str(option.get("text", "…"))
	button.alignment = HORIZONTAL_ALIGNMENT_LEFT
	button.focus_mode = Control.FOCUS_ALL
	button.pressed.connect(_on_option_pressed.bind(option))
	_options.add_child(button)


func _focus_first() -> void:
	var buttons: Array[Button] = option_buttons()
	if not buttons.is_empty():
		buttons[0].grab_focus.call_deferred()


func _disconnect_npc() -> void:
	if npc != null and npc.is_connected("line_streamed", _on_npc_line_streamed):
		npc.disconnect("line_streamed", _on_npc_line_streamed)
		npc.disconnect("line_reset", _on_npc_line_reset)


func _build() -> void:
	var root := MarginContainer.new()
	root.set_anchors_and_offsets_preset(Control.PRESET_BOTTOM_WIDE)
	root.offset_top = -300
	for side: String in ["left", "right", "bottom"]:
		root.add_theme_constant_override("margin_" + side, 24)
	add_child(root)
	_panel = PanelContainer.new()
	var style := StyleBoxFlat.new()
	style.bg_color = Color(0.09, 0.08, 0.1, 0.94)
	style.border_color = Color(0.85, 0.75, 0.5)
	style.set_border_width_all(2)
	style.set_corner_radius_all(10)
	style.set_content_margin_all(16)
	_panel.add_theme_stylebox_override("panel", style)
	root.add_child(_panel)
	var box := VBoxContainer.new()
	box.add_theme_constant_override("separation", 8)
	_panel.add_child(box)
	_name_label = Label.new()
	_name_label.add_theme_font_size_override("font_size", 20)
	box.add_child(_name_label)
	_text = RichTextLabel.new()
	_text.bbcode_enabled = true
	_text.fit_content = true
	_text.scroll_active = false
	_text.custom_minimum_size = Vector2(0, 60)
	box.add_child(_text)
	_options = VBoxContainer.new()
	box.add_child(_options)
	var row := HBoxContainer.new()
	box.add_child(row)
	_input = LineEdit.new()
	_input.placeholder_text = input_hint
	_input.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_input.text_submitted.connect(_on_input_text_submitted)
	row.add_child(_input)
	_send = Button.new()
	_send.text = "Say"
	_send.pressed.connect(_on_send_pressed)
	row.add_child(_send)


func _on_option_pressed(option: Dictionary) -> void:
	if option.get("intent") == "leave":
		close()
	else:
		say(str(option.get("text", "")))


func _on_input_text_submitted(text: String) -> void:
	_input.clear()
	say(text)


func _on_send_pressed() -> void:
	_on_input_text_submitted(_input.text)


func _on_npc_line_streamed(text: String) -> void:
	if not _streaming:
		return
	_target_text += text
	_text.text = _target_text
	_text.visible_characters = -1
	_revealed = _target_text.length()


func _on_npc_line_reset() -> void:
	if _streaming:
		_set_line("", false)
