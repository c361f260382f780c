extends Node2D
## Thimbleford, a very small village: walk (arrow keys, WASD or a gamepad stick) up to a
## villager and the dialogue balloon opens; at the well three villagers stand together, and
## what you say there starts a scene they all take part in. Pick an answer or type your own; Esc
## (or the gamepad's cancel button) says goodbye.
##
## Talk changes the village: the smith opens his shop panel when he offers to sell or mend
## something, and Captain Vane, who keeps the north gate at the end of the road, opens it
## once you have talked her round (the demo sets the [code]ask_favor[/code] goal with her;
## ask her more than once). Both are persona actions ([signal ParleyNPC.action_requested]).
##
## The scene is built in code from plain shapes, so it needs no imported assets and runs
## the same in the editor and in an export template. The villagers are personas from the
## repository's personas/ folder: ansel (the smith) and hesper (the captain) on their own,
## sorrel (the herbalist), rook (the bard) and goldie (the innkeeper) at the well.

const NpcScript := preload("res://addons/parley/nodes/parley_npc.gd")
const BalloonScene := preload("res://addons/parley/ui/dialogue_balloon.tscn")
const BalloonScript := preload("res://addons/parley/ui/dialogue_balloon.gd")
const ExportCheck := preload("res://demo/export_check.gd")
const Portraits := preload("res://demo/portraits.gd")
const ShopPanel := preload("res://demo/shop_panel.gd")
const NorthGate := preload("res://demo/north_gate.gd")
const ActionScript := preload("res://addons/parley/api/action.gd")
const GoalScript := preload("res://addons/parley/api/goal.gd")
const ParleyScript := preload("res://addons/parley/parley.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")

## Persona id, place, colour, the name over its head and (optional) the goal the game
## sets for the player as a conversation with it starts, with the words shown for it.
const VILLAGERS: Array[Dictionary] = [
	{"persona": "ansel", "at": Vector2(260, 230), "color": Color(0.55, 0.3, 0.2), "name": "Ansel"},
	{
		"persona": "hesper",
		"at": Vector2(1040, 292),
		"color": Color(0.6, 0.2, 0.25),
		"name": "Captain Vane",
		"goal": "ask_favor",
		"quest": "Talk the captain into opening the north gate",
	},
]
## The palisade's gate, where the road leaves the village.
const GATE_AT := Vector2(1100, 335)
## The well, where three villagers stand together: walking up to them starts a scene (one
## player line, several NPCs answering each other). Places are relative to the well.
const WELL_AT := Vector2(560, 170)
const WELL_RADIUS := 95.0
const SQUARE: Array[Dictionary] = [
	{"persona": "sorrel", "at": Vector2(-52, 6), "color": Color(0.3, 0.6, 0.3), "name": "Sorrel"},
	{"persona": "rook", "at": Vector2(0, -44), "color": Color(0.3, 0.3, 0.4), "name": "Rook"},
	{"persona": "goldie", "at": Vector2(52, 6), "color": Color(0.9, 0.7, 0.2), "name": "Goldie"},
]
const HINT := "Walk up to a villager, or to the three at the well. (Enter: talk again; Esc: bye.)"
const SPEED := 240.0
const TALK_RADIUS := 70.0

var player: CharacterBody2D
var balloon: BalloonScript
var status: Label
## How each villager feels about the player, from ParleyNPC.affinity_changed (top right).
var feelings: Label
## The smith's counter, shown when Ansel offers to sell or mend something.
var shop: ShopPanel
## The north gate, opened by Captain Vane's [code]open_gate[/code] action.
var gate: NorthGate
## What the player is after with each villager that has a goal (persona id -> ParleyGoal),
## and how far it got, shown under the hint.
var goals: Dictionary = {}
## The goal with the villager talked to, or the errand the player last took on.
var quest: Label
var _quests: Dictionary = {}  # persona id -> the words shown for its goal
var _near: NpcScript = null
var _at_well: bool = false
var _square: Array[NpcScript] = []


func _ready() -> void:
	_build_ground()
	for villager: Dictionary in VILLAGERS:
		_add_villager(villager)
	_add_well()
	gate = NorthGate.new()
	gate.position = GATE_AT
	add_child(gate)
	player = _make_player(Vector2(560, 300))
	add_child(player)
	balloon = BalloonScene.instantiate()
	var personas := PackedStringArray()
	for villager: Dictionary in VILLAGERS + SQUARE:
		personas.append(str(villager["persona"]))
	balloon.portraits = Portraits.table(personas)  # a face per emotion
	add_child(balloon)
	balloon.closed.connect(_on_balloon_closed)
	shop = ShopPanel.new()
	add_child(shop)
	status = Label.new()
	status.position = Vector2(16, 12)
	status.text = "Starting the Parley sidecar…"
	add_child(status)
	feelings = Label.new()
	feelings.position = Vector2(860, 12)
	feelings.horizontal_alignment = HORIZONTAL_ALIGNMENT_RIGHT
	feelings.size = Vector2(276, 24)
	add_child(feelings)
	quest = Label.new()
	quest.position = Vector2(16, 36)
	add_child(quest)
	var parley: Node = get_node_or_null("/root/Parley")
	if parley == null:
		status.text = "The Parley autoload is missing: enable the Parley plugin."
		return
	parley.connect("sidecar_ready", _on_parley_sidecar_ready)
	parley.connect("sidecar_failed", _on_parley_sidecar_failed)
	if bool(parley.call("is_ready")):
		_on_parley_sidecar_ready("")
	if ExportCheck.requested():
		add_child(ExportCheck.new())  # a headless check of an exported demo (-- --parley-check)


func _physics_process(_delta: float) -> void:
	var direction: Vector2 = Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down")
	if balloon.visible:
		direction = Vector2.ZERO  # the balloon has the keyboard
	player.velocity = direction * SPEED
	player.move_and_slide()


func _unhandled_input(event: InputEvent) -> void:
	if balloon.visible or not event.is_action_pressed("ui_accept"):
		return
	if _near != null:
		balloon.open(_near)
	elif _at_well:
		balloon.open_scene(_square)


## Opens the dialogue with the villager whose persona is [param persona] (used by the
## headless demo check and handy from the debugger).
func talk_to(persona: String) -> void:
	for npc: Node in get_tree().get_nodes_in_group(&"parley_villagers"):
		if (npc as NpcScript).persona_id == persona:
			_near = npc
			balloon.open(npc)


func _build_ground() -> void:
	var grass := ColorRect.new()
	grass.color = Color(0.42, 0.62, 0.34)
	grass.size = Vector2(1152, 648)
	grass.z_index = -10
	add_child(grass)
	var road := ColorRect.new()
	road.color = Color(0.72, 0.62, 0.45)
	road.position = Vector2(0, 300)
	road.size = Vector2(1152, 70)
	road.z_index = -9
	add_child(road)
	for house: Rect2 in [Rect2(180, 90, 160, 100), Rect2(800, 70, 180, 110)]:
		var walls := ColorRect.new()
		walls.color = Color(0.8, 0.75, 0.65)
		walls.position = house.position
		walls.size = house.size
		walls.z_index = -8
		add_child(walls)
		var roof := Polygon2D.new()
		var top: Vector2 = house.position
		roof.polygon = PackedVector2Array(
			[top, top + Vector2(house.size.x, 0), top + Vector2(house.size.x / 2.0, -50)]
		)
		roof.color = Color(0.6, 0.25, 0.2)
		roof.z_index = -8
		add_child(roof)


func _add_villager(villager: Dictionary) -> void:
	var body := _talk_area(str(villager["name"]), villager["at"], TALK_RADIUS)
	var npc := _add_figure(body, villager, 18.0, &"parley_villagers")
	npc.affinity_changed.connect(_on_villager_affinity_changed.bind(npc))
	npc.action_requested.connect(_on_villager_action_requested)
	if villager.has("goal"):
		_quests[npc.persona_id] = str(villager.get("quest", ""))
		npc.conversation_started.connect(_on_goal_conversation_started.bind(npc, villager["goal"]))
		npc.goal_progressed.connect(_on_villager_goal_progressed.bind(npc))
		npc.goal_completed.connect(_on_villager_goal_completed.bind(npc))
	body.body_entered.connect(_on_villager_body_entered.bind(npc))
	body.body_exited.connect(_on_villager_body_exited.bind(npc))
	add_child(body)


func _add_well() -> void:
	var well := _talk_area("Well", WELL_AT, WELL_RADIUS)
	var stone := _disc(14.0, Color(0.5, 0.5, 0.55))
	well.add_child(stone)
	for member: Dictionary in SQUARE:
		var spot := Node2D.new()
		spot.name = str(member["name"])
		spot.position = member["at"]
		_square.append(_add_figure(spot, member, 16.0, &"parley_square"))
		well.add_child(spot)
	well.body_entered.connect(_on_well_body_entered)
	well.body_exited.connect(_on_well_body_exited)
	add_child(well)


func _on_well_body_entered(body: Node2D) -> void:
	if body != player:
		return
	_at_well = true
	if not balloon.visible:
		balloon.open_scene(_square)


func _on_well_body_exited(body: Node2D) -> void:
	if body == player:
		_at_well = false
		if not balloon.scene.is_empty():
			balloon.close()


# An area the player walks into to talk, of [param radius] around [param at].
func _talk_area(node_name: String, at: Vector2, radius: float) -> Area2D:
	var area := Area2D.new()
	area.name = node_name
	area.position = at
	var shape := CollisionShape2D.new()
	var circle := CircleShape2D.new()
	circle.radius = radius
	shape.shape = circle
	area.add_child(shape)
	return area


# A villager's disc, name label and ParleyNPC under [param parent]; the NPC node is returned.
func _add_figure(parent: Node2D, who: Dictionary, radius: float, group: StringName) -> NpcScript:
	parent.add_child(_disc(radius, who["color"]))
	var label := Label.new()
	label.text = str(who["name"])
	label.position = Vector2(-radius - 12.0, -2.0 * radius - 12.0)
	parent.add_child(label)
	var npc := NpcScript.new()
	npc.name = "ParleyNPC"
	npc.persona_id = who["persona"]
	npc.display_name = who["name"]
	npc.add_to_group(group)
	parent.add_child(npc)
	return npc


func _make_player(at: Vector2) -> CharacterBody2D:
	var body := CharacterBody2D.new()
	body.name = "Player"
	body.position = at
	body.motion_mode = CharacterBody2D.MOTION_MODE_FLOATING
	var shape := CollisionShape2D.new()
	var circle := CircleShape2D.new()
	circle.radius = 14.0
	shape.shape = circle
	body.add_child(shape)
	body.add_child(_disc(14.0, Color(0.2, 0.35, 0.8)))
	var camera := Camera2D.new()
	camera.position = Vector2.ZERO
	camera.enabled = false  # the whole village fits the screen
	body.add_child(camera)
	return body


static func _disc(radius: float, color: Color) -> Polygon2D:
	var points := PackedVector2Array()
	for i: int in 24:
		points.append(Vector2.from_angle(TAU * i / 24.0) * radius)
	var disc := Polygon2D.new()
	disc.polygon = points
	disc.color = color
	return disc


func _on_villager_body_entered(body: Node2D, npc: NpcScript) -> void:
	if body != player:
		return
	_near = npc
	if not balloon.visible:
		balloon.open(npc)


func _on_villager_body_exited(body: Node2D, npc: NpcScript) -> void:
	if body == player and _near == npc:
		_near = null
		balloon.close()


func _on_villager_affinity_changed(
	_old: int, new: int, delta: int, reason: String, npc: NpcScript
) -> void:
	feelings.text = "%s: %d (%+d, %s)" % [npc.display_name, new, delta, reason.get_slice(";", 0)]


func _on_villager_action_requested(action: ActionScript) -> void:
	if action.name in ["sell_item", "repair_item"]:
		shop.show_offer(action)
	elif action.name == "give_errand":
		# A villager's errand the player took on ("Do you have any work for me?", then a yes):
		# a game's quest log would start the quest named in args.errand here.
		var errand: String = str(action.args.get("errand", "")).replace("_", " ")
		quest.text = "Errand: %s, %d coppers" % [errand, int(action.args.get("reward", 0))]
		action.succeed()
	elif action.name == "open_gate":
		# The detail goes into the captain's next line as given.
		if gate.open():
			action.succeed("the north gate swings open")
		else:
			action.succeed("the north gate was already open")


# The game decides what the player is after with this villager (her persona's actions wait
# on it): set as each conversation with her starts.
func _on_goal_conversation_started(_conversation: String, npc: NpcScript, goal: String) -> void:
	var parley := get_node_or_null("/root/Parley") as ParleyScript
	if parley == null:
		return
	var reply: ReplyScript = await parley.set_goal(npc, goal)
	if reply.ok and reply.goal != null:
		_show_goal(npc, reply.goal)


func _on_villager_goal_progressed(goal: GoalScript, npc: NpcScript) -> void:
	_show_goal(npc, goal)


func _on_villager_goal_completed(goal: GoalScript, _reward: int, npc: NpcScript) -> void:
	_show_goal(npc, goal)


func _show_goal(npc: NpcScript, goal: GoalScript) -> void:
	goals[npc.persona_id] = goal
	var what: String = str(_quests.get(npc.persona_id, ""))
	if what.is_empty():
		what = goal.description if not goal.description.is_empty() else goal.id
	var how: String = "done" if goal.completed else "%d%%" % roundi(goal.progress * 100.0)
	quest.text = "%s: %s" % [what, how]


func _on_balloon_closed() -> void:
	status.text = HINT


func _on_parley_sidecar_ready(_endpoint: String) -> void:
	status.text = HINT


func _on_parley_sidecar_failed(reason: String) -> void:
	status.text = "The Parley sidecar failed: %s" % reason.get_slice("\n", 0)
