extends RefCounted
## The demo villagers' portraits, one face per emotion, drawn from SVG written here (the demo
## ships no image files, so it needs no import step and runs the same from a project folder,
## the editor or an export). A game would use its own art: any [Texture2D] in the balloon's
## [code]portraits[/code] table.

## The faces' colours by persona id.
const LOOKS: Dictionary = {
	"ansel": {"skin": "#c8926c", "hair": "#3b2a20", "shirt": "#8c4a2f"},
	"goldie": {"skin": "#f2cda6", "hair": "#e0a030", "shirt": "#c0392b"},
	"sorrel": {"skin": "#d9b08c", "hair": "#4f6b32", "shirt": "#4d8a4d"},
	"rook": {"skin": "#b98565", "hair": "#1f1f2a", "shirt": "#3d3d52"},
	"hesper": {"skin": "#e6bf9a", "hair": "#6b2a1e", "shirt": "#8a2f3c"},
}
## Brows and mouth by emotion (the protocol's eight), as SVG path data on a 128 px face.
const FACES: Dictionary = {
	"neutral": {"brows": "M38 46 L56 46 M72 46 L90 46", "mouth": "M50 90 L78 90", "open": false},
	"joy":
	{
		"brows": "M38 44 Q47 38 56 44 M72 44 Q81 38 90 44",
		"mouth": "M46 84 Q64 104 82 84",
		"open": false
	},
	"sadness":
	{"brows": "M38 48 L56 41 M72 41 L90 48", "mouth": "M48 96 Q64 84 80 96", "open": false},
	"anger":
	{"brows": "M38 40 L56 49 M72 49 L90 40", "mouth": "M50 94 Q64 87 78 94", "open": false},
	"fear":
	{
		"brows": "M38 42 L56 37 M72 37 L90 42",
		"mouth": "M54 92 Q64 84 74 92 Q64 98 54 92",
		"open": true
	},
	"surprise":
	{
		"brows": "M38 38 Q47 31 56 38 M72 38 Q81 31 90 38",
		"mouth": "M57 90 Q64 78 71 90 Q64 102 57 90",
		"open": true
	},
	"disgust":
	{
		"brows": "M38 44 L56 47 M72 40 L90 44",
		"mouth": "M48 92 Q58 85 64 91 Q70 97 80 88",
		"open": false
	},
	"affection":
	{
		"brows": "M38 45 Q47 41 56 45 M72 45 Q81 41 90 45",
		"mouth": "M50 86 Q64 98 78 86",
		"open": false
	},
}


## The balloon's portraits table for [param personas]: [code]"ansel"[/code] (neutral) and
## [code]"ansel/<emotion>"[/code] for each emotion.
static func table(personas: PackedStringArray) -> Dictionary[String, Texture2D]:
	var out: Dictionary[String, Texture2D] = {}
	for persona: String in personas:
		for emotion: String in FACES:
			var texture: Texture2D = face(persona, emotion)
			if texture == null:
				continue
			out["%s/%s" % [persona, emotion]] = texture
			if emotion == "neutral":
				out[persona] = texture
	return out


## One face, or null when the SVG cannot be rasterized (a build without the SVG module).
static func face(persona: String, emotion: String) -> Texture2D:
	var image := Image.new()
	if image.load_svg_from_string(svg(persona, emotion), 1.0) != OK:
		return null
	return ImageTexture.create_from_image(image)


## The SVG of [param persona]'s face with [param emotion].
static func svg(persona: String, emotion: String) -> String:
	var look: Dictionary = LOOKS.get(persona, LOOKS["ansel"])
	var shape: Dictionary = FACES.get(emotion, FACES["neutral"])
	var mouth_fill: String = "#5a2a2a" if shape["open"] else "none"
	var blush: String = ""
	if emotion == "affection" or emotion == "joy":
		blush = (
			'<circle cx="40" cy="74" r="7" fill="#e87a7a" opacity="0.45"/>'
			+ '<circle cx="88" cy="74" r="7" fill="#e87a7a" opacity="0.45"/>'
		)
	var parts: PackedStringArray = [
		'<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">',
		'<rect width="128" height="128" fill="#2a2530"/>',
		'<path d="M14 128 Q64 96 114 128 Z" fill="%s"/>' % look["shirt"],
		'<ellipse cx="64" cy="66" rx="38" ry="44" fill="%s"/>' % look["skin"],
		(
			'<path d="M26 58 Q28 16 64 18 Q100 16 102 58 Q92 34 64 34 Q36 34 26 58 Z" fill="%s"/>'
			% look["hair"]
		),
		'<circle cx="48" cy="58" r="4.5" fill="#1d1a1f"/>',
		'<circle cx="80" cy="58" r="4.5" fill="#1d1a1f"/>',
		blush,
		(
			'<path d="%s" stroke="%s" stroke-width="4" stroke-linecap="round" fill="none"/>'
			% [shape["brows"], look["hair"]]
		),
		(
			'<path d="%s" stroke="#5a2a2a" stroke-width="3.5" stroke-linecap="round" fill="%s"/>'
			% [shape["mouth"], mouth_fill]
		),
		"</svg>",
	]
	return "".join(parts)
