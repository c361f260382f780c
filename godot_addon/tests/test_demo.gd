extends "res://tests/test_case.gd"
## The demo village against the real sidecar: it builds its villagers from personas/, the
## player walking into one opens the balloon with a greeting and clickable options, and
## walking up to the three at the well starts a scene with all of them; talk changes the
## village (the smith's shop panel, the captain's gate).

const ParleyTest := preload("res://tests/test_parley.gd")
const VillageScene := preload("res://demo/village.tscn")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const LineScript := preload("res://addons/parley/api/line.gd")
const ActionScript := preload("res://addons/parley/api/action.gd")
const GoalScript := preload("res://addons/parley/api/goal.gd")

var parley: Node = null
var village: Node2D = null


func before_each() -> void:
	parley = ParleyTest.make_parley(tree, "demo-test")
	village = VillageScene.instantiate()
	tree.root.add_child(village)


func after_each() -> void:
	parley.call("stop")
	village.queue_free()
	parley.queue_free()
	await tree.process_frame


func test_walking_up_to_a_villager_opens_the_dialogue() -> void:
	var npcs: Array[Node] = tree.get_nodes_in_group(&"parley_villagers")
	var ids: Array = npcs.map(func(n: Node) -> String: return n.get("persona_id"))
	check_eq(ids, ["ansel", "hesper"], "two villagers on their own, from personas/")
	var balloon: CanvasLayer = village.get("balloon")
	var player: CharacterBody2D = village.get("player")
	check(not balloon.visible, "no dialogue before walking up")
	# Walk the player to the captain: the Area2D's body_entered opens the balloon.
	var captain: Node2D = npcs[1].get_parent()
	player.global_position = captain.global_position + Vector2(-40, 0)
	var opened: bool = await wait_until(func() -> bool: return balloon.visible, 10.0)
	check(opened, "walking up opens the balloon")
	var greeted: bool = await wait_until(
		func() -> bool: return not balloon.call("option_buttons").is_empty(), 90.0
	)
	if not check(greeted, "greeting and options shown"):
		return
	check(not str(balloon.call("shown_text")).is_empty(), "the greeting is on screen")
	var face: Texture2D = balloon.call("shown_portrait")
	var emotion: String = (npcs[1] as NpcScript).last_line.emotion
	check(face != null, "the captain's portrait shows")
	check(
		face == balloon.call("portrait_for", "hesper", emotion),
		"the face of the greeting's emotion (%s)" % emotion
	)
	check(face != null and face.get_width() == 128, "a 128 px face drawn from its SVG")
	var buttons: Array = balloon.call("option_buttons")
	var first: Button = buttons[0]
	var chosen: String = first.text
	var before: String = str(balloon.call("shown_text"))
	first.pressed.emit()  # a click on the first option
	var answered: bool = await wait_until(
		func() -> bool:
			return not balloon.get("busy") and str(balloon.call("shown_text")) != before,
		60.0
	)
	check(answered, "clicking '%s' gets an answer" % chosen)
	# Walking away closes the balloon.
	player.global_position = Vector2(560, 300)
	check(await wait_until(func() -> bool: return not balloon.visible, 10.0), "walking away closes")


func test_the_three_at_the_well_answer_together() -> void:
	var square: Array = tree.get_nodes_in_group(&"parley_square").map(
		func(n: Node) -> String: return n.get("persona_id")
	)
	check_eq(square, ["sorrel", "rook", "goldie"], "three villagers stand at the well")
	var balloon: CanvasLayer = village.get("balloon")
	balloon.set("characters_per_second", 0.0)
	var player: CharacterBody2D = village.get("player")
	var well: Node2D = village.get_node("Well")
	var shown: Array[String] = []
	balloon.connect("line_shown", func(line: LineScript) -> void: shown.append(line.speaker))
	player.global_position = well.global_position + Vector2(0, 60)
	var greeted: bool = await wait_until(func() -> bool: return shown.size() >= 1, 90.0)
	if not check(greeted, "walking up to the well starts a scene"):
		return
	check(not str(balloon.get("scene")).is_empty(), "the balloon shows the scene")
	for _i: int in 5:
		if not balloon.call("option_buttons").is_empty():
			break
		_accept()  # the next line
	check_eq(shown, ["sorrel", "rook", "goldie"], "each greets in turn")
	balloon.call("say", "Sorrel, Rook, what news from the road?")
	var answered: bool = await wait_until(
		func() -> bool: return not balloon.get("busy") and shown.size() >= 4, 60.0
	)
	check(answered, "one player line gets the scene's answers")
	for _i: int in 10:
		if not balloon.call("option_buttons").is_empty():
			break
		_accept()  # the next line
	var answers: Array[String] = shown.slice(3)
	check(answers.size() >= 2, "several NPCs answer: %s" % [answers])
	if answers.size() >= 2:
		check_eq(answers.slice(0, 2), ["sorrel", "rook"], "the named ones, in order")
	player.global_position = Vector2(560, 330)
	var left: bool = await wait_until(func() -> bool: return not balloon.visible, 10.0)
	check(left, "walking away closes the scene")


func _accept() -> void:
	for pressed: bool in [true, false]:
		var event := InputEventAction.new()
		event.action = &"ui_accept"
		event.pressed = pressed
		tree.root.push_input(event)


func test_the_smith_opens_his_shop_panel() -> void:
	var npcs: Array[Node] = tree.get_nodes_in_group(&"parley_villagers")
	var ansel: NpcScript = npcs[0]
	var balloon: CanvasLayer = village.get("balloon")
	var shop: CanvasLayer = village.get("shop")
	var player: CharacterBody2D = village.get("player")
	player.global_position = (ansel.get_parent() as Node2D).global_position + Vector2(40, 0)
	var greeted: bool = await wait_until(
		func() -> bool: return not balloon.call("option_buttons").is_empty(), 90.0
	)
	if not check(greeted, "Ansel greets"):
		return
	check(not shop.visible, "no shop before anything is asked")
	balloon.call("say", "I'd like to buy a horseshoe, please.")
	var offered: bool = await wait_until(func() -> bool: return shop.visible, 60.0)
	if not check(offered, "asking to buy opens the shop panel"):
		return
	var offer: String = (shop.get("offer") as Label).text
	check("horseshoe" in offer and "3 coppers" in offer, "the offer: %s" % offer)
	var action: Object = shop.get("action")
	(shop.get("pay") as Button).pressed.emit()
	var paid: bool = await wait_until(func() -> bool: return bool(action.get("answered")), 30.0)
	check(paid, "paying answers the action")
	check(not shop.visible, "and closes the panel")


func test_the_captain_opens_the_gate_once_talked_round() -> void:
	var captain: NpcScript = tree.get_nodes_in_group(&"parley_villagers")[1]
	check_eq(captain.persona_id, "hesper", "the captain keeps the gate")
	var balloon: CanvasLayer = village.get("balloon")
	balloon.set("characters_per_second", 0.0)
	var gate: StaticBody2D = village.get("gate")
	var player: CharacterBody2D = village.get("player")
	player.global_position = (captain.get_parent() as Node2D).global_position + Vector2(-40, 0)
	# The demo sets the goal as the conversation starts; her gate waits on it.
	var goals: Dictionary = village.get("goals")
	var set_up: bool = await wait_until(
		func() -> bool:
			return goals.has("hesper") and not balloon.call("option_buttons").is_empty(),
		90.0
	)
	if not check(set_up, "the captain greets, and the goal is set"):
		return
	check_eq((goals["hesper"] as GoalScript).id, "ask_favor", "the game's goal with her")
	var through := Vector2(120, 0)  # from the road, west of the gate, through it
	var road_before_gate: Vector2 = gate.global_position + Vector2(-40, 0)
	check(_blocked(player, road_before_gate, through), "the shut gate blocks the road")
	var requested: Array[ActionScript] = []
	captain.action_requested.connect(func(a: ActionScript) -> void: requested.append(a))
	# Asked and pleaded with, she puts it off; that is what talks her round.
	for line: String in [
		"Captain, could you open the gate for me?", "Please, I really need to get through."
	]:
		await _say(balloon, line)
		check(not bool(gate.get("is_open")), "still shut after: %s" % line)
	check(requested.is_empty(), "no action before she is convinced")
	var goal: GoalScript = goals["hesper"]
	check(goal.completed, "asked again and again, she came round: %s" % goal)
	await _say(balloon, "I beg you, let me pass.")
	var opened: bool = await wait_until(func() -> bool: return bool(gate.get("is_open")), 30.0)
	if not check(opened, "convinced, she opens the gate"):
		return
	check_eq(
		requested.map(func(a: ActionScript) -> String: return a.name), ["open_gate"], "one action"
	)
	var answered: bool = await wait_until(func() -> bool: return requested[0].answered, 30.0)
	check(answered, "the game answered the action")
	var passable: bool = await wait_until(
		func() -> bool: return not _blocked(player, road_before_gate, through), 10.0
	)
	check(passable, "the road through the gate is open")
	var before: String = str(balloon.call("shown_text"))
	await _say(balloon, "Thank you, Captain.")
	check(str(balloon.call("shown_text")) != before, "she answers after the gate opened")


# Whether [param body], placed at [param from], would hit something moving by [param motion]
# (a test-only move: nothing is moved). Physics queries see the space as of the last step.
func _blocked(body: CharacterBody2D, from: Vector2, motion: Vector2) -> bool:
	var at: Vector2 = body.global_position
	body.global_position = from
	var hit: KinematicCollision2D = body.move_and_collide(motion, true)
	body.global_position = at
	return hit != null


# Says [param text] in the balloon and waits for the NPC's answer to be shown.
func _say(balloon: CanvasLayer, text: String) -> void:
	var before: String = str(balloon.call("shown_text"))
	balloon.call("say", text)
	var answered: bool = await wait_until(
		func() -> bool:
			return not balloon.get("busy") and str(balloon.call("shown_text")) != before,
		60.0
	)
	check(answered, "an answer to: %s" % text)
