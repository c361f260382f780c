extends StaticBody2D
## The village palisade across the east end of the road, with the north gate in it: the
## player cannot walk past until Captain Vane opens the gate (her persona's
## [code]open_gate[/code] action, [signal ParleyNPC.action_requested]), which she does only
## once the player has talked her round. Built in code like the rest of the demo.

## Emitted once, when the gate has swung open.
signal opened

## Where the road crosses the palisade, relative to this node: the gate's span.
const GAP := Rect2(-7, -35, 14, 70)
## How far the palisade runs above and below the gate.
const REACH := 340.0

## True once the captain has opened the gate.
var is_open: bool = false

var _bar: ColorRect
var _bar_shape: CollisionShape2D


func _ready() -> void:
	name = "NorthGate"
	_add_post(Rect2(GAP.position.x, GAP.position.y - REACH, GAP.size.x, REACH))  # above the road
	_add_post(Rect2(GAP.position.x, GAP.end.y, GAP.size.x, REACH))  # below it
	_bar = ColorRect.new()
	_bar.color = Color(0.45, 0.3, 0.15)
	_bar.position = GAP.position
	_bar.size = GAP.size
	add_child(_bar)
	_bar_shape = _shape(GAP)
	add_child(_bar_shape)
	var label := Label.new()
	label.text = "North gate"
	label.position = GAP.position + Vector2(-96, -150)
	add_child(label)


## Opens the gate (the bar swings up out of the road); false if it was open already.
func open() -> bool:
	if is_open:
		return false
	is_open = true
	# A shape's collision cannot change while the physics step is running: deferred.
	_bar_shape.set_deferred(&"disabled", true)
	var tween := create_tween()
	tween.tween_property(_bar, "size:y", 6.0, 0.6)
	opened.emit()
	return true


func _add_post(rect: Rect2) -> void:
	var wood := ColorRect.new()
	wood.color = Color(0.35, 0.24, 0.12)
	wood.position = rect.position
	wood.size = rect.size
	wood.z_index = -7
	add_child(wood)
	add_child(_shape(rect))


static func _shape(rect: Rect2) -> CollisionShape2D:
	var box := RectangleShape2D.new()
	box.size = rect.size
	var shape := CollisionShape2D.new()
	shape.shape = box
	shape.position = rect.get_center()
	return shape
