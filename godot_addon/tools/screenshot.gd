extends SceneTree
## A screenshot of the demo village: the player beside Captain Vane at the north gate, the
## balloon open with her greeting, portrait and options. Needs a display (not --headless:
## the headless display server draws nothing); under Xvfb:
##
##     xvfb-run -a -s "-screen 0 1280x720x24" $GODOT_BIN --path godot_addon \
##         --script res://tools/screenshot.gd -- /path/to/out.png
##
## ([code]make screenshot-godot[/code]). Runs the real sidecar (the repository's Python one,
## a fresh data folder), prints [code]SCREENSHOT path WxH[/code] and exits 0, or prints why
## not and exits 1; never waits longer than [constant TIMEOUT_S].

const ParleyTest := preload("res://tests/test_parley.gd")
const VillageScene := preload("res://demo/village.tscn")
const BalloonScript := preload("res://addons/parley/ui/dialogue_balloon.gd")
const DEFAULT_OUT := "res://addons/parley/docs/demo.png"
const PERSONA := "hesper"
const TIMEOUT_S := 120.0


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	create_timer(TIMEOUT_S, true, false, true).timeout.connect(
		_fail.bind("no screenshot within %d s" % TIMEOUT_S)
	)
	var user_args: PackedStringArray = OS.get_cmdline_user_args()
	var out: String = user_args[0] if not user_args.is_empty() else DEFAULT_OUT
	out = ProjectSettings.globalize_path(out)
	# The dev project's autoload would start its sidecar with the user's data folder; the
	# demo finds this one at /root/Parley instead.
	var autoload: Node = root.get_node_or_null("Parley")
	if autoload != null:
		autoload.call("stop")
		root.remove_child(autoload)
		autoload.queue_free()
	var parley: Node = ParleyTest.make_parley(self, "screenshot")
	var village: Node2D = VillageScene.instantiate()
	root.add_child(village)
	parley.call("start")
	while not bool(parley.call("is_ready")):
		await process_frame
	# Walk the player up to the villager: the demo opens the balloon itself.
	var player: CharacterBody2D = village.get("player")
	for npc: Node in get_nodes_in_group(&"parley_villagers"):
		if npc.get("persona_id") == PERSONA:
			player.global_position = (npc.get_parent() as Node2D).global_position + Vector2(-44, 8)
	var balloon: BalloonScript = village.get("balloon")
	while balloon.option_buttons().is_empty():
		await process_frame
	for _i: int in 90:  # the layout settles (containers sort on the next frames)
		await process_frame
	await RenderingServer.frame_post_draw
	var image: Image = root.get_texture().get_image()
	DirAccess.make_dir_recursive_absolute(out.get_base_dir())
	var saved: Error = image.save_png(out)
	parley.call("stop")
	if saved != OK:
		_fail("cannot write %s (error %d)" % [out, saved])
		return
	print("SCREENSHOT %s %dx%d" % [out, image.get_width(), image.get_height()])
	quit(0)


func _fail(why: String) -> void:
	print("SCREENSHOT failed: %s" % why)
	quit(1)
