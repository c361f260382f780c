extends "res://tests/test_case.gd"
## The demo village against the real sidecar: it builds its villagers from personas/, the
## player walking into one opens the balloon with a greeting and clickable options, and
## walking up to the three at the well starts a scene with all of them.

const ParleyTest := preload("res://tests/test_parley.gd")
const VillageScene := preload("res://demo/village.tscn")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const LineScript := preload("res://addons/parley/api/line.gd")

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
	check_eq(ids, ["ansel", "goldie"], "two villagers on their own, from personas/")
	var balloon: CanvasLayer = village.get("balloon")
	var player: CharacterBody2D = village.get("player")
	check(not balloon.visible, "no dialogue before walking up")
	# Walk the player to Goldie: the Area2D's body_entered opens the balloon.
	var goldie: Node2D = npcs[1].get_parent()
	player.global_position = goldie.global_position + Vector2(-40, 0)
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
	check(face != null, "Goldie's portrait shows")
	check(
		face == balloon.call("portrait_for", "goldie", emotion),
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
	check_eq(square, ["sorrel", "rook", "hesper"], "three villagers stand at the well")
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
	check_eq(shown, ["sorrel", "rook", "hesper"], "each greets in turn")
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
