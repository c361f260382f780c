class_name ParleyDialogueBalloon
extends CanvasLayer
## A dialogue balloon for a [ParleyNPC]: the NPC's name, portrait and line (shown as streamed
## text arrives, or typed out), its answer options as focusable buttons, and a text box for
## free input. Copy [code]dialogue_balloon.tscn[/code] (with this script, or a copy of it) to
## make it your own: the layout is the scene, the look is its [Theme]
## ([code]dialogue_balloon_theme.tres[/code]: font, colours, panel and button styles; the type
## variations [code]ParleyBalloonPanel[/code], [code]ParleyNameLabel[/code] and
## [code]ParleyPortraitFrame[/code]), and an option button is a copy of the hidden
## [code]%OptionTemplate[/code] button.
##
## Keyboard and gamepad: [member action_up] / [member action_down] move between the options
## (and the text box), [member action_accept] picks the focused option, or, while a line is
## being typed out, shows the rest of it at once; [member action_cancel] closes the balloon
## and ends the conversation. The scene's nodes are found by unique name ([code]%Balloon[/code],
## [code]%NameLabel[/code], [code]%Text[/code], [code]%Options[/code], [code]%OptionTemplate[/code],
## [code]%PortraitFrame[/code], [code]%Portrait[/code], [code]%InputRow[/code],
## [code]%Input[/code], [code]%Send[/code]); a copy must keep them.
##
## [codeblock]
## var balloon := preload("res://addons/parley/ui/dialogue_balloon.tscn").instantiate()
## balloon.portraits = {"ansel": preload("res://art/ansel.png"),
##         "ansel/joy": preload("res://art/ansel_smiling.png")}
## add_child(balloon)
## balloon.open($Ansel/ParleyNPC)
## [/codeblock]

## The player chose an option (or typed a line); [param text] was said to the NPC.
signal player_spoke(text: String)
## The NPC's whole line is on screen (typed out, streamed, or skipped to the end) and its
## options are shown. Not emitted for a failed request, whose message is shown instead.
signal line_shown(line: LineScript)
## The balloon was closed.
signal closed

const ReplyScript := preload("res://addons/parley/net/reply.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
const OptionScript := preload("res://addons/parley/api/option.gd")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const ParleyScript := preload("res://addons/parley/parley.gd")

## How fast a line is typed out, in characters per second (0 or less: all at once). A
## streamed line is shown as its pieces arrive and is not typed out a second time.
@export var characters_per_second: float = 90.0
## The action that picks the focused option, or shows the rest of a line being typed.
@export var action_accept: StringName = &"ui_accept"
## The action that closes the balloon (and says goodbye).
@export var action_cancel: StringName = &"ui_cancel"
## The action that moves the focus to the previous option.
@export var action_up: StringName = &"ui_up"
## The action that moves the focus to the next option (and from the last to the text box).
@export var action_down: StringName = &"ui_down"
## Show the free-text box (hide it for options-only dialogue).
@export var text_input: bool = true:
	set(value):
		text_input = value
		if is_node_ready():
			_input_row.visible = value
## Portraits by persona id ([code]"ansel"[/code]: the NPC's default) and by persona id and
## emotion ([code]"ansel/joy"[/code], one of the protocol's eight emotions: neutral, joy,
## sadness, anger, fear, surprise, disgust, affection). A line shows the portrait of its
## emotion, else the NPC's default; with neither the portrait frame is hidden.
@export var portraits: Dictionary[String, Texture2D] = {}
## A theme that replaces the scene's [code]dialogue_balloon_theme.tres[/code] (null: keep it).
@export var balloon_theme: Theme = null:
	set(value):
		balloon_theme = value
		if is_node_ready() and value != null:
			_balloon.theme = value

## The NPC being talked to.
var npc: NpcScript = null
## True while waiting for the NPC's answer.
var busy: bool = false
## The scene shown ([method open_scene]), or "" for a conversation with one NPC.
var scene: String = ""

var _target_text: String = ""
var _revealed: float = 0.0
var _typing: bool = false
var _streaming: bool = false
var _line: LineScript = LineScript.new()
var _pending_options: Array[OptionScript] = []
# A scene's lines still to show, one at a time (accept shows the next).
var _queue: Array[LineScript] = []
var _waiting_next: bool = false

@onready var _balloon: Control = %Balloon
@onready var _name_label: Label = %NameLabel
@onready var _text: Label = %Text
@onready var _options: Container = %Options
@onready var _option_template: Button = %OptionTemplate
@onready var _portrait_frame: Control = %PortraitFrame
@onready var _portrait: TextureRect = %Portrait
@onready var _input_row: Control = %InputRow
@onready var _input_box: LineEdit = %Input
@onready var _send: Button = %Send


func _ready() -> void:
	visible = false
	_option_template.visible = false
	_input_row.visible = text_input
	if balloon_theme != null:
		_balloon.theme = balloon_theme
	_input_box.text_submitted.connect(_on_input_text_submitted)
	_send.pressed.connect(_on_send_pressed)


func _process(delta: float) -> void:
	if not _typing:
		return
	var total: int = _target_text.length()
	_revealed = minf(_revealed + delta * maxf(characters_per_second, 0.0), total)
	_text.visible_characters = int(_revealed)
	if _text.visible_characters >= total:
		_finish_line()


# In _input, before the GUI: the balloon's own actions replace Godot's built-in focus
# navigation and button activation (which only know ui_up/ui_down/ui_accept), so configured
# actions work and one press never acts twice.
func _input(event: InputEvent) -> void:
	if not visible:
		return
	if event.is_action_pressed(action_cancel):
		get_viewport().set_input_as_handled()
		close()
	elif event.is_action_pressed(action_accept):
		_on_accept()
	elif event.is_action_pressed(action_down, true):
		_move_focus(1)
	elif event.is_action_pressed(action_up, true):
		_move_focus(-1)


## Shows the balloon for [param target] (a [ParleyNPC]) and opens the conversation (or, if it
## is open, shows the NPC's last line and options again).
func open(target: NpcScript) -> void:
	if npc != null and npc != target:
		_disconnect_npc()
	scene = ""
	_queue.clear()
	npc = target
	if not npc.line_streamed.is_connected(_on_npc_line_streamed):
		npc.line_streamed.connect(_on_npc_line_streamed)
		npc.line_reset.connect(_on_npc_line_reset)
	visible = true
	_name_label.text = npc.shown_name()
	_show_portrait("")
	_clear_options()
	_set_line("…", false)
	_set_busy(true)
	var reply: ReplyScript = await npc.talk()
	if not is_inside_tree() or npc != target:
		return
	_show_reply(reply)


## Shows a scene with several NPCs ([param npcs]: [ParleyNPC]s or persona ids, as
## [method Parley.start_scene] takes them): each line with its speaker's name and portrait,
## one after another in the order said ([member action_accept] shows the next), then the
## options. [method say] then speaks to the whole scene.
func open_scene(npcs: Array) -> void:
	var parley: ParleyScript = _parley()
	if parley == null or busy:
		return
	_disconnect_npc()
	npc = null
	scene = ""
	visible = true
	_clear_options()
	_set_line("…", false)
	_set_busy(true)
	var reply: ReplyScript = await parley.start_scene(npcs)
	if not is_inside_tree() or npc != null:
		return
	if reply.ok:
		scene = str(reply.result.get("scene", ""))
	_show_scene_reply(reply)


## Says [param text] to the NPC (or the scene) and shows the answer as it streams in.
func say(text: String) -> void:
	if busy or text.strip_edges().is_empty():
		return
	if not scene.is_empty():
		await _take_scene_turn(text)
	elif npc != null:
		await _take_turn(text, -1)


## Says the NPC's answer option [param option] (one of those shown: the sidecar gets its
## index, so the NPC knows which of its options was picked) and shows the answer.
func choose(option: OptionScript) -> void:
	if busy:
		return
	if not scene.is_empty():
		await _take_scene_turn(option.text)
	elif npc != null:
		await _take_turn(option.text, option.index)


func _take_scene_turn(text: String) -> void:
	var parley: ParleyScript = _parley()
	var shown: String = scene
	player_spoke.emit(text)
	_clear_options()
	_set_busy(true)
	_set_line("…", false)
	var reply: ReplyScript = await parley.scene_say(shown, text, false)
	if not is_inside_tree() or scene != shown:
		return
	_show_scene_reply(reply)


func _take_turn(text: String, index: int) -> void:
	var target: NpcScript = npc
	player_spoke.emit(text)
	_clear_options()
	_set_busy(true)
	_streaming = true
	_set_line("", false)
	var reply: ReplyScript
	if index >= 0:
		reply = await target.choose(index)
	else:
		reply = await target.say(text)
	if not is_inside_tree() or npc != target:
		return
	_streaming = false
	_show_reply(reply)


## Hides the balloon and ends the conversation.
func close() -> void:
	if not visible:
		return
	visible = false
	_typing = false
	_queue.clear()
	_waiting_next = false
	if not scene.is_empty():
		var ended: String = scene
		scene = ""
		closed.emit()
		var parley: ParleyScript = _parley()
		if parley != null:
			await parley.end_scene(ended)
		return
	var target: NpcScript = npc
	_disconnect_npc()
	npc = null
	_set_busy(false)
	closed.emit()
	if target != null and target.is_talking():
		await target.leave()


## True while a line is being typed out.
func is_typing() -> bool:
	return _typing


## Shows the rest of the line being typed out, and its options, at once.
func skip_typing() -> void:
	if _typing:
		_finish_line()


## The option buttons currently shown, in order (for tests and custom navigation).
func option_buttons() -> Array[Button]:
	var out: Array[Button] = []
	for child: Node in _options.get_children():
		if child is Button and child != _option_template and not child.is_queued_for_deletion():
			out.append(child)
	return out


## The NPC's line the balloon is showing (or typing out).
func shown_text() -> String:
	return _target_text


## The speaker name shown.
func shown_name() -> String:
	return _name_label.text


## The portrait shown, or null when the portrait frame is hidden.
func shown_portrait() -> Texture2D:
	return _portrait.texture if _portrait_frame.visible else null


## The portrait for a line of [param persona] said with [param emotion] (see [member
## portraits]): the emotion's, else the persona's default, else null.
func portrait_for(persona: String, emotion: String) -> Texture2D:
	if not emotion.is_empty():
		var key: String = "%s/%s" % [persona, emotion]
		if portraits.has(key):
			return portraits[key]
	return portraits.get(persona, null)


# Ends the wait for [param reply]; a failed one is shown as the line, with only a way out.
# True when it was a failure (the caller shows nothing more).
func _shown_as_failure(reply: ReplyScript) -> bool:
	_set_busy(false)
	_clear_options()
	if reply.ok:
		return false
	var why: String = reply.error.message if reply.error != null else "no answer"
	_line = LineScript.new()
	_set_line("(%s: %s)" % [reply.error_code(), why], false)
	_pending_options = [_leave_option("Leave")]
	_finish_line()
	return true


func _show_scene_reply(reply: ReplyScript) -> void:
	if _shown_as_failure(reply):
		return
	_queue = reply.lines.duplicate()
	_pending_options = reply.options.duplicate()
	if not _pending_options.any(func(o: OptionScript) -> bool: return o.intent == "leave"):
		_pending_options.append(_leave_option("Goodbye."))
	_play_next()


func _play_next() -> void:
	_waiting_next = false
	if _queue.is_empty():
		_finish_line()
		return
	_line = _queue.pop_front()
	_name_label.text = _line.name if not _line.name.is_empty() else _line.speaker.capitalize()
	_show_portrait_of(_line.speaker, _line.emotion)
	_set_line(_line.text, true)
	if not _typing:
		_finish_line()


func _show_reply(reply: ReplyScript) -> void:
	if _shown_as_failure(reply):
		return
	_line = reply.line
	_name_label.text = npc.shown_name()
	_show_portrait(_line.emotion)
	var text: String = _line.text
	# Already on screen if it was streamed: then it is not typed out a second time.
	var streamed: bool = (
		not _target_text.is_empty() and _target_text.strip_edges() == text.strip_edges()
	)
	_set_line(text, not streamed)
	_pending_options = reply.options.duplicate()
	if not _pending_options.any(func(o: OptionScript) -> bool: return o.intent == "leave"):
		_pending_options.append(_leave_option("Goodbye."))
	if not _typing:
		_finish_line()


func _set_line(text: String, typed: bool) -> void:
	_target_text = text
	_text.text = text
	_revealed = 0.0
	_typing = typed and characters_per_second > 0.0 and not text.is_empty()
	_text.visible_characters = 0 if _typing else -1


func _finish_line() -> void:
	_typing = false
	_text.visible_characters = -1
	if not _queue.is_empty():  # more lines of the scene: accept shows the next
		_waiting_next = true
		line_shown.emit(_line)
		return
	for option: OptionScript in _pending_options:
		_add_option(option)
	_pending_options = []
	_focus_first()
	if not _line.is_empty():  # a failure's message is not a line
		line_shown.emit(_line)


func _show_portrait(emotion: String) -> void:
	_show_portrait_of(npc.persona_id if npc != null else "", emotion)


func _show_portrait_of(persona: String, emotion: String) -> void:
	var texture: Texture2D = portrait_for(persona, emotion)
	_portrait.texture = texture
	_portrait_frame.visible = texture != null


func _set_busy(value: bool) -> void:
	busy = value
	_input_box.editable = not value
	_send.disabled = value
	for button: Button in option_buttons():
		button.disabled = value


func _clear_options() -> void:
	for button: Button in option_buttons():
		_options.remove_child(button)
		button.queue_free()


func _add_option(option: OptionScript) -> void:
	var button: Button = _option_template.duplicate() as Button
	button.unique_name_in_owner = false  # one %OptionTemplate; the copies have no owner
	button.text = option.text
	button.visible = true
	button.focus_mode = Control.FOCUS_ALL
	button.pressed.connect(_on_option_pressed.bind(option))
	_options.add_child(button)


## The option the balloon adds when the NPC offered no way out (not one of the sidecar's:
## its index is -1, and picking it closes the balloon instead of being said).
static func _leave_option(text: String) -> OptionScript:
	var option := OptionScript.new()
	option.text = text
	option.intent = "leave"
	option.index = -1
	return option


func _focus_first() -> void:
	var buttons: Array[Button] = option_buttons()
	if not buttons.is_empty():
		buttons[0].grab_focus()


## The controls the up/down actions move between: the options, then the text box.
func _focusables() -> Array[Control]:
	var out: Array[Control] = []
	for button: Button in option_buttons():
		if not button.disabled:
			out.append(button)
	if _input_row.visible and _input_box.editable:
		out.append(_input_box)
	return out


func _move_focus(step: int) -> void:
	var controls: Array[Control] = _focusables()
	if controls.is_empty():
		return
	get_viewport().set_input_as_handled()
	var at: int = controls.find(get_viewport().gui_get_focus_owner())
	var next: int = 0 if at < 0 else clampi(at + step, 0, controls.size() - 1)
	controls[next].grab_focus()


func _on_accept() -> void:
	var focused: Control = get_viewport().gui_get_focus_owner()
	if focused is LineEdit:
		return  # the text box keeps its keys (a space is ui_accept too); Enter submits it
	if _typing:
		get_viewport().set_input_as_handled()
		skip_typing()
		return
	if _waiting_next:
		get_viewport().set_input_as_handled()
		_play_next()
		return
	if focused is BaseButton and _balloon.is_ancestor_of(focused):
		get_viewport().set_input_as_handled()
		if not (focused as BaseButton).disabled:
			(focused as BaseButton).pressed.emit()


func _parley() -> ParleyScript:
	return get_node_or_null("/root/Parley") as ParleyScript


func _disconnect_npc() -> void:
	if npc != null and npc.line_streamed.is_connected(_on_npc_line_streamed):
		npc.line_streamed.disconnect(_on_npc_line_streamed)
		npc.line_reset.disconnect(_on_npc_line_reset)


func _on_option_pressed(option: OptionScript) -> void:
	if option.intent == "leave":
		close()
	else:
		choose(option)


func _on_input_text_submitted(text: String) -> void:
	_input_box.clear()
	say(text)


func _on_send_pressed() -> void:
	_on_input_text_submitted(_input_box.text)


func _on_npc_line_streamed(text: String) -> void:
	if not _streaming:
		return
	_target_text += text
	_text.text = _target_text
	_text.visible_characters = -1
	_revealed = _target_text.length()


func _on_npc_line_reset(_reason: String) -> void:
	if _streaming:
		_set_line("", false)
