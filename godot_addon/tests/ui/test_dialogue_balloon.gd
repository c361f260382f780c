extends "res://tests/test_case.gd"
## The dialogue balloon and ParleyNPC with the real sidecar: the greeting and its options
## appear, an option chosen by keyboard (ui_down, ui_accept) is said and the streamed answer
## shows, free text works, ui_cancel closes the balloon and ends the conversation.

const ParleyTest := preload("res://tests/test_parley.gd")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const BalloonScene := preload("res://addons/parley/ui/dialogue_balloon.tscn")
const BalloonScript := preload("res://addons/parley/ui/dialogue_balloon.gd")

var parley: Node = null
var npc: NpcScript = null
var balloon: BalloonScript = null
var _shown: Array[Dictionary] = []
var _spoken: PackedStringArray = PackedStringArray()


func before_each() -> void:
	parley = ParleyTest.make_parley(tree, "ui-test")
	npc = NpcScript.new()
	npc.persona_id = "sorrel"
	tree.root.add_child(npc)
	balloon = BalloonScene.instantiate()
	balloon.characters_per_second = 0.0
	tree.root.add_child(balloon)
	balloon.line_shown.connect(func(line: Dictionary) -> void: _shown.append(line))
	balloon.player_spoke.connect(func(text: String) -> void: _spoken.append(text))


func after_each() -> void:
	parley.call("stop")
	for node: Node in [balloon, npc, parley]:
		node.queue_free()
	await tree.process_frame


func test_open_choose_by_keyboard_type_and_close() -> void:
	balloon.open(npc)
	check(balloon.visible, "the balloon shows at once")
	var greeted: bool = await wait_until(func() -> bool: return _shown.size() >= 1, 90.0)
	if not check(greeted, "the greeting is shown"):
		return
	check_eq(balloon.shown_text(), npc.last_line.get("text"), "the NPC's line is on screen")
	var buttons: Array[Button] = balloon.option_buttons()
	check(buttons.size() >= 2, "option buttons (%d)" % buttons.size())
	await frames(2)
	check(tree.root.gui_get_focus_owner() == buttons[0], "the first option has the focus")

	# Keyboard / gamepad: down to the first option after the first that does not leave.
	var target: int = -1
	for i: int in range(1, npc.last_options.size()):
		if npc.last_options[i].get("intent") != "leave":
			target = i
			break
	if not check(target > 0, "a second option that does not leave: %s" % [npc.last_options]):
		return
	for _i: int in target:
		_press(&"ui_down")
		await frames(1)
	check(tree.root.gui_get_focus_owner() == buttons[target], "ui_down moves along the options")
	var chosen: String = buttons[target].text
	var streamed: PackedStringArray = PackedStringArray()
	npc.line_streamed.connect(func(piece: String) -> void: streamed.append(piece))
	_press(&"ui_accept")
	var answered: bool = await wait_until(func() -> bool: return _shown.size() >= 2, 60.0)
	check(answered, "the answer to the chosen option is shown")
	check_eq(_spoken, PackedStringArray([chosen]), "the option's text was said")
	check_eq(balloon.shown_text(), npc.last_line.get("text"), "the answer is on screen")
	check(streamed.size() >= 1, "the answer came streamed (%d pieces)" % streamed.size())
	check_eq("".join(streamed).strip_edges(), balloon.shown_text().strip_edges(), "all of it")

	# Free text, typed into the text box and submitted.
	var boxes: Array[Node] = balloon.find_children("*", "LineEdit", true, false)
	if not check(boxes.size() == 1, "one text box"):
		return
	var box: LineEdit = boxes[0]
	box.text = "Which herbs help with a cough?"
	box.text_submitted.emit(box.text)
	var typed: bool = await wait_until(func() -> bool: return _shown.size() >= 3, 60.0)
	check(typed, "the answer to typed text is shown")
	check_eq(_spoken[-1], "Which herbs help with a cough?", "the typed line was said")
	check(box.text.is_empty(), "the box is cleared")

	# Gamepad: the d-pad moves the focus (Godot's default ui_down mapping).
	await frames(2)
	var now_buttons: Array[Button] = balloon.option_buttons()
	check(tree.root.gui_get_focus_owner() == now_buttons[0], "focus back on the first option")
	var pad := InputEventJoypadButton.new()
	pad.button_index = JOY_BUTTON_DPAD_DOWN
	pad.pressed = true
	tree.root.push_input(pad)
	await frames(1)
	check(tree.root.gui_get_focus_owner() == now_buttons[1], "d-pad down moves to the next option")

	# Cancel closes and ends the conversation.
	_press(&"ui_cancel")
	var closed: bool = await wait_until(func() -> bool: return not npc.is_talking(), 30.0)
	check(not balloon.visible, "ui_cancel hides the balloon")
	check(closed, "and ends the conversation")


func _press(action: StringName) -> void:
	var event := InputEventAction.new()
	event.action = action
	event.pressed = true
	tree.root.push_input(event)
	var release := InputEventAction.new()
	release.action = action
	release.pressed = false
	tree.root.push_input(release)
