extends CanvasLayer
## The blacksmith's counter: when Ansel decides to sell or mend something (his persona's
## [code]sell_item[/code] / [code]repair_item[/code] actions, [signal ParleyNPC.action_requested]),
## this panel shows the offer; Pay answers the action with
## [method ParleyAction.succeed], No thanks with [method ParleyAction.fail], and the sidecar
## then has Ansel say how it went. Built in code like the rest of the demo.

const ActionScript := preload("res://addons/parley/api/action.gd")
const ReplyScript := preload("res://addons/parley/net/reply.gd")
const BalloonTheme := preload("res://addons/parley/ui/dialogue_balloon_theme.tres")

## The offer being shown, or null.
var action: ActionScript = null
## The offer's words ("A horseshoe, 3 coppers").
var offer: Label
## Pays: the action succeeds.
var pay: Button
## Declines: the action fails.
var decline: Button

var _panel: PanelContainer


func _ready() -> void:
	layer = 11
	_panel = PanelContainer.new()
	_panel.theme = BalloonTheme
	_panel.theme_type_variation = &"ParleyBalloonPanel"
	_panel.position = Vector2(386, 120)
	_panel.custom_minimum_size = Vector2(380, 0)
	var column := VBoxContainer.new()
	_panel.add_child(column)
	var title := Label.new()
	title.text = "Ansel's forge"
	title.theme_type_variation = &"ParleyNameLabel"
	column.add_child(title)
	offer = Label.new()
	column.add_child(offer)
	var row := HBoxContainer.new()
	column.add_child(row)
	pay = Button.new()
	pay.text = "Pay"
	pay.pressed.connect(_answer.bind(true))
	row.add_child(pay)
	decline = Button.new()
	decline.text = "No thanks"
	decline.pressed.connect(_answer.bind(false))
	row.add_child(decline)
	add_child(_panel)
	visible = false


## Shows [param requested] (an action of the smith's) until the player answers it.
func show_offer(requested: ActionScript) -> void:
	action = requested
	var item: String = str(requested.args.get("item", "something"))
	var price: int = int(requested.args.get("price", 0))
	var what: String = "Mend your %s" if requested.name == "repair_item" else "A new %s"
	offer.text = "%s: %d copper%s" % [what % item, price, "" if price == 1 else "s"]
	visible = true
	pay.grab_focus()


func _answer(paid: bool) -> void:
	if action == null:
		return
	var answered: ActionScript = action
	action = null
	visible = false
	var price: int = int(answered.args.get("price", 0))
	if paid:
		await answered.succeed("the player paid %d coppers" % price)
	else:
		await answered.fail("the player said no thanks")
