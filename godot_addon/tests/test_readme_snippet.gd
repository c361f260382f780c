extends "res://tests/test_case.gd"
## The README's promise, literally: with the plugin enabled (the `Parley` autoload of this
## project), `var reply := await Parley.say(npc, "hello")` works.

const ParleyTest := preload("res://tests/test_parley.gd")


func test_await_parley_say() -> void:
	if not check(tree.has_meta(&"parley_autoload"), "the runner kept the autoload"):
		return
	var autoload: Node = tree.get_meta(&"parley_autoload")
	var settings: Dictionary = ParleyTest.sidecar_settings("readme")
	autoload.call("configure", settings)
	tree.root.add_child(autoload)
	check(autoload.get_path() == ^"/root/Parley", "it is /root/Parley again")

	var reply := await Parley.say("goldie", "hello")

	check(reply.ok, "ok (%s)" % reply)
	check(not reply.text().is_empty(), "Goldie answers: %s" % reply.text())
	check(not reply.options.is_empty(), "with options")
	Parley.stop()
	tree.root.remove_child(autoload)
