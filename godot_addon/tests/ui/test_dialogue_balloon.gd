extends "res://tests/test_case.gd"
## The dialogue balloon and ParleyNPC with the real sidecar: the greeting and its options
## appear, an option chosen by keyboard (ui_down, ui_accept) is said and the streamed answer
## shows, free text works, ui_cancel closes the balloon and ends the conversation; a line is
## typed out and accept skips to its end; configured input actions replace the defaults; the
## portrait follows the line's emotion (else the NPC's default); a theme restyles it.

const ParleyTest := preload("res://tests/test_parley.gd")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const BalloonScene := preload("res://addons/parley/ui/dialogue_balloon.tscn")
const BalloonScript := preload("res://addons/parley/ui/dialogue_balloon.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
## The protocol's eight emotions (PROTOCOL.md, "NPC lines: emotion and intensity").
const EMOTIONS: Array[String] = [
	"neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust", "affection"
]
const TEST_ACTIONS: Array[StringName] = [
	&"parley_test_next", &"parley_test_pick", &"parley_test_quit"
]

var parley: Node = null
var npc: NpcScript = null
var balloon: BalloonScript = null
var _shown: Array[LineScript] = []
var _spoken: PackedStringArray = PackedStringArray()


func before_each() -> void:
	parley = ParleyTest.make_parley(tree, "ui-test")
	npc = NpcScript.new()
	npc.persona_id = "sorrel"
	tree.root.add_child(npc)
	balloon = BalloonScene.instantiate()
	balloon.characters_per_second = 0.0
	tree.root.add_child(balloon)
	balloon.line_shown.connect(func(line: LineScript) -> void: _shown.append(line))
	balloon.player_spoke.connect(func(text: String) -> void: _spoken.append(text))


func after_each() -> void:
	for action: StringName in TEST_ACTIONS:
		if InputMap.has_action(action):
			InputMap.erase_action(action)
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
	check_eq(balloon.shown_text(), npc.last_line.text, "the NPC's line is on screen")
	var buttons: Array[Button] = balloon.option_buttons()
	check(buttons.size() >= 2, "option buttons (%d)" % buttons.size())
	await frames(2)
	check(tree.root.gui_get_focus_owner() == buttons[0], "the first option has the focus")

	# Keyboard / gamepad: down to the first option after the first that does not leave.
	var target: int = -1
	for i: int in range(1, npc.last_options.size()):
		if npc.last_options[i].intent != "leave":
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
	check_eq(balloon.shown_text(), npc.last_line.text, "the answer is on screen")
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


func test_a_line_is_typed_out_and_accept_skips_to_its_end() -> void:
	balloon.characters_per_second = 25.0  # a greeting of ~60 characters takes seconds
	balloon.open(npc)
	var typing: bool = await wait_until(func() -> bool: return balloon.is_typing(), 90.0)
	if not check(typing, "the greeting is being typed out"):
		return
	var text: Label = balloon.get_node("%Text")
	var total: int = balloon.shown_text().length()
	check(total > 5, "a greeting to type (%d characters)" % total)
	check(balloon.option_buttons().is_empty(), "no options while the line is typed")
	check(_shown.is_empty(), "line_shown waits for the whole line")
	var progressed: bool = await wait_until(
		func() -> bool: return text.visible_characters >= 2 and balloon.is_typing(), 10.0
	)
	check(progressed, "characters appear over frames (%d)" % text.visible_characters)
	check(text.visible_characters < total, "but not all at once")
	_press(&"ui_accept")
	check(not balloon.is_typing(), "accept skips to the end")
	check_eq(text.visible_characters, -1, "the whole line is visible")
	check_eq(_shown.size(), 1, "line_shown once")
	var buttons: Array[Button] = balloon.option_buttons()
	check(buttons.size() >= 2, "the options appear (%d)" % buttons.size())
	check(not buttons.is_empty() and buttons[0].has_focus(), "the first option has the focus")
	check(_spoken.is_empty(), "the skipping accept did not pick an option")
	# Typed out to the end on its own, the line is shown the same way.
	balloon.characters_per_second = 400.0
	balloon.say("Good day to you.")
	var answered: bool = await wait_until(func() -> bool: return _shown.size() >= 2, 60.0)
	check(answered, "the streamed answer is shown without a key press")
	check_eq(text.visible_characters, -1, "all of it")


func test_configured_actions_replace_the_defaults() -> void:
	for action: StringName in TEST_ACTIONS:
		InputMap.add_action(action)
	balloon.action_down = &"parley_test_next"
	balloon.action_accept = &"parley_test_pick"
	balloon.action_cancel = &"parley_test_quit"
	balloon.open(npc)
	var greeted: bool = await wait_until(func() -> bool: return _shown.size() >= 1, 90.0)
	if not check(greeted, "the greeting is shown"):
		return
	var buttons: Array[Button] = balloon.option_buttons()
	if not check(buttons.size() >= 2, "options (%d)" % buttons.size()):
		return
	_press(&"parley_test_next")
	check(buttons[1].has_focus(), "the configured 'down' action moves the focus")
	_press(&"ui_cancel")
	check(balloon.visible, "ui_cancel no longer closes the balloon")
	var target: int = -1
	for i: int in range(1, buttons.size()):
		if npc.last_options.size() > i and npc.last_options[i].intent != "leave":
			target = i
			break
	if target > 1:
		for _i: int in target - 1:
			_press(&"parley_test_next")
	if not check(target > 0, "an option that does not leave: %s" % [npc.last_options]):
		return
	var chosen: String = buttons[target].text
	_press(&"parley_test_pick")
	check_eq(_spoken, PackedStringArray([chosen]), "the configured 'accept' action picks it")
	var answered: bool = await wait_until(func() -> bool: return _shown.size() >= 2, 60.0)
	check(answered, "and the answer is shown")
	_press(&"parley_test_quit")
	check(not balloon.visible, "the configured 'cancel' action closes the balloon")
	var ended: bool = await wait_until(func() -> bool: return not npc.is_talking(), 30.0)
	check(ended, "and ends the conversation")


func test_the_portrait_follows_the_lines_emotion() -> void:
	var fallback: Texture2D = _texture(Color.WHITE)
	var faces: Dictionary = {}
	for i: int in EMOTIONS.size():
		faces[EMOTIONS[i]] = _texture(Color.from_hsv(i / 8.0, 0.8, 0.8))
	balloon.portraits["sorrel"] = fallback
	for emotion: String in EMOTIONS:
		balloon.portraits["sorrel/" + emotion] = faces[emotion]
	check(balloon.portrait_for("sorrel", "") == fallback, "no emotion: the NPC's default")
	check(balloon.portrait_for("sorrel", "joy") == faces["joy"], "an emotion: its portrait")
	check(balloon.portrait_for("ansel", "joy") == null, "another NPC: none")
	balloon.open(npc)
	var greeted: bool = await wait_until(func() -> bool: return _shown.size() >= 1, 90.0)
	if not check(greeted, "the greeting is shown"):
		return
	var emotion: String = npc.last_line.emotion
	if not check(emotion in EMOTIONS, "the greeting has one of the eight emotions: %s" % emotion):
		return
	check(balloon.shown_portrait() == faces[emotion], "the greeting's portrait is its emotion's")
	var frame: Control = balloon.get_node("%PortraitFrame")
	check(frame.visible, "the portrait frame shows")
	# Without portraits for its emotion, the next line shows the NPC's default.
	for each: String in EMOTIONS:
		balloon.portraits.erase("sorrel/" + each)
	balloon.say("What grows in your garden?")
	var answered: bool = await wait_until(func() -> bool: return _shown.size() >= 2, 60.0)
	check(answered, "the answer is shown")
	check(balloon.shown_portrait() == fallback, "no portrait for the emotion: the default one")
	# Without any portrait for the NPC, the frame is hidden.
	balloon.portraits.clear()
	balloon.say("Thank you, that helps.")
	var again: bool = await wait_until(func() -> bool: return _shown.size() >= 3, 60.0)
	check(again, "the next answer is shown")
	check(balloon.shown_portrait() == null, "no portrait at all")
	check(not frame.visible, "the portrait frame is hidden")


func test_a_theme_restyles_the_balloon() -> void:
	var name_label: Label = balloon.get_node("%NameLabel")
	var panel: PanelContainer = balloon.get_node("%Balloon/Panel")
	var shipped: Theme = load("res://addons/parley/ui/dialogue_balloon_theme.tres")
	check(
		(balloon.get_node("%Balloon") as Control).theme == shipped, "the scene uses the theme .tres"
	)
	check_eq(
		name_label.get_theme_color("font_color"),
		shipped.get_color("font_color", "ParleyNameLabel"),
		"the name's colour comes from the theme"
	)
	check(
		panel.get_theme_stylebox("panel") == shipped.get_stylebox("panel", "ParleyBalloonPanel"),
		"the panel's style comes from the theme"
	)
	var mine := Theme.new()
	mine.set_type_variation("ParleyNameLabel", "Label")
	mine.set_color("font_color", "ParleyNameLabel", Color.RED)
	mine.set_font_size("font_size", "ParleyNameLabel", 31)
	mine.set_type_variation("ParleyBalloonPanel", "PanelContainer")
	var style := StyleBoxFlat.new()
	style.bg_color = Color.DARK_GREEN
	mine.set_stylebox("panel", "ParleyBalloonPanel", style)
	mine.set_color("font_color", "Button", Color.CYAN)
	balloon.balloon_theme = mine
	check_eq(name_label.get_theme_color("font_color"), Color.RED, "the new name colour")
	check_eq(name_label.get_theme_font_size("font_size"), 31, "the new name size")
	check(panel.get_theme_stylebox("panel") == style, "the new panel style")
	var template: Button = balloon.get_node("%OptionTemplate")
	check_eq(template.get_theme_color("font_color"), Color.CYAN, "option buttons follow it")


static func _texture(color: Color) -> Texture2D:
	var image: Image = Image.create_empty(8, 8, false, Image.FORMAT_RGBA8)
	image.fill(color)
	return ImageTexture.create_from_image(image)


func test_a_scene_shows_each_line_with_its_speaker_in_order() -> void:
	var faces: Dictionary = {}
	for persona: String in ["goldie", "ansel", "sorrel"]:
		faces[persona] = _texture(Color.from_hsv(randf(), 0.7, 0.7))
		balloon.portraits[persona] = faces[persona]
	check(parley.call("start"), "start")
	var ready: bool = await wait_until(func() -> bool: return parley.call("is_ready"), 60.0)
	if not check(ready, "the sidecar is ready"):
		return
	balloon.open_scene(["goldie", "ansel", "sorrel"])
	var greeted: bool = await wait_until(func() -> bool: return _shown.size() >= 1, 60.0)
	if not check(greeted, "the first greeting is shown"):
		return
	check(not balloon.scene.is_empty(), "the balloon shows a scene")
	for i: int in 3:
		if not check(_shown.size() == i + 1, "greeting %d shown (%d)" % [i + 1, _shown.size()]):
			return
		var line: LineScript = _shown[i]
		check_eq(balloon.shown_name(), line.name, "greeting %d under its speaker's name" % i)
		check(balloon.shown_portrait() == faces[line.speaker], "with %s's face" % line.speaker)
		check_eq(balloon.shown_text(), line.text, "and its words")
		if i < 2:
			check(balloon.option_buttons().is_empty(), "no options before the last line")
			_press(&"ui_accept")  # the next line
	var speakers: Array = _shown.map(func(l: LineScript) -> String: return l.speaker)
	check_eq(speakers, ["goldie", "ansel", "sorrel"], "one greeting each, in the scene's order")
	check(balloon.option_buttons().size() >= 1, "then the options")
	balloon.say("Goldie, Ansel, what news from the village?")
	var answered: bool = await wait_until(
		func() -> bool: return not balloon.busy and _shown.size() >= 4, 60.0
	)
	if not check(answered, "the scene answers"):
		return
	for _i: int in 10:
		if not balloon.option_buttons().is_empty():
			break
		_press(&"ui_accept")
	var answers: Array = _shown.slice(3).map(func(l: LineScript) -> String: return l.speaker)
	check(answers.size() >= 2, "at least the two named NPCs answer: %s" % [answers])
	if answers.size() >= 2:
		check_eq(answers.slice(0, 2), ["goldie", "ansel"], "in the order they were named")
	_press(&"ui_cancel")
	check(not balloon.visible, "cancel closes the scene")
	check(balloon.scene.is_empty(), "and ends it")
