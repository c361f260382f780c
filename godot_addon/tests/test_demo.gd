extends "res://tests/test_case.gd"
## The demo village against the real sidecar: it builds three villagers from personas/, and
## the player walking into one opens the balloon with a greeting and clickable options.

const ParleyTest := preload("res://tests/test_parley.gd")
const VillageScene := preload("res://demo/village.tscn")
const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")

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
	check_eq(ids, ["ansel", "goldie", "sorrel"], "three villagers from personas/")
	var balloon: CanvasLayer = village.get("balloon")
	var player: CharacterBody2D = village.get("player")
	check(not balloon.visible, "no dialogue before walking up")
	# Walk the player to Sorrel: the Area2D's body_entered opens the balloon.
	var sorrel: Node2D = npcs[2].get_parent()
	player.global_position = sorrel.global_position + Vector2(40, 0)
	var opened: bool = await wait_until(func() -> bool: return balloon.visible, 10.0)
	check(opened, "walking up opens the balloon")
	var greeted: bool = await wait_until(
		func() -> bool: return not balloon.call("option_buttons").is_empty(), 90.0
	)
	if not check(greeted, "greeting and options shown"):
		return
	check(not str(balloon.call("shown_text")).is_empty(), "the greeting is on screen")
	var face: Texture2D = balloon.call("shown_portrait")
	var emotion: String = (npcs[2] as NpcScript).last_line.emotion
	check(face != null, "Sorrel's portrait shows")
	check(
		face == balloon.call("portrait_for", "sorrel", emotion),
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
