@tool
extends EditorExportPlugin
## Carries the packaged Parley sidecar into exported games, and warns when it is missing.
##
## The sidecar binary is built per platform with [code]make sidecar[/code] (PyInstaller does
## not cross-compile: build each OS on that OS) into
## [code]res://addons/parley/bin/<os>-<arch>/[/code]: [code]parley-sidecar[/code]
## ([code].exe[/code] on Windows) next to its [code]_internal/[/code] folder.
##
## Where it goes in the export (where [code]sidecar_process.gd[/code] looks for it:
## [code]<folder of the game executable>/parley/bin/<os>-<arch>/[/code]):
## [br]- Linux, Windows (and the BSDs): copied by this plugin next to the exported executable,
## symbolic links kept, the Unix permissions of every file kept and the executable marked
## executable (Godot's shared-object copy for these platforms drops the executable bit, so the
## plugin copies the folder itself, in [method _export_begin]). A "PCK/ZIP only" export gets
## the folder next to the .pck/.zip.
## [br]- macOS: handed to Godot with [method add_shared_object] into
## [code]<game>.app/Contents/MacOS/parley/bin/[/code], so Godot's exporter copies (and, when
## signing is on, signs) it inside the bundle. A universal export carries both
## [code]macos-arm64[/code] and [code]macos-x86_64[/code].
##
## The folder itself is kept out of the .pck ([method _export_file] skips it).
##
## Checks: the export option [code]parley/include_sidecar[/code] (on by default) shows a
## warning in the Export dialog when the binary for the preset's platform and architecture is
## missing, and the export itself reports the same as a warning (it does not fail: a game may
## run its own sidecar). With [code]parley/copy_personas[/code] (on by default) the persona
## folder named by the project setting [code]parley/sidecar/personas_dir[/code] (a
## [code]res://[/code] path) is copied next to the executable too, at the same relative path,
## because the sidecar reads persona files from disk, not from the .pck.

const BIN_DIR := "res://addons/parley/bin"
const EXPORT_SUBDIR := "parley/bin"
const MACOS_TARGET := "Contents/MacOS/parley/bin"
const BINARY_NAME := "parley-sidecar"
const OPTION_INCLUDE := "parley/include_sidecar"
const OPTION_PERSONAS := "parley/copy_personas"
const PERSONAS_SETTING := "parley/sidecar/personas_dir"
const CATEGORY := "Parley"
## Godot's architecture names ([method Engine.get_architecture_name], export features).
const ARCHITECTURES := ["x86_64", "x86_32", "arm64", "arm32", "rv64", "ppc64", "loongarch64"]
## chmod a+x
const EXECUTE_BITS: int = (
	FileAccess.UNIX_EXECUTE_OWNER | FileAccess.UNIX_EXECUTE_GROUP | FileAccess.UNIX_EXECUTE_OTHER
)
const PERSONA_EXTENSIONS := ["toml", "json", "md"]


func _get_name() -> String:
	return "Parley sidecar"


func _supports_platform(platform: EditorExportPlatform) -> bool:
	return not os_dir_name(platform.get_os_name()).is_empty()


func _get_export_options(_platform: EditorExportPlatform) -> Array[Dictionary]:
	return [
		{"option": {"name": OPTION_INCLUDE, "type": TYPE_BOOL}, "default_value": true},
		{"option": {"name": OPTION_PERSONAS, "type": TYPE_BOOL}, "default_value": true},
	]


func _get_export_option_warning(platform: EditorExportPlatform, option: String) -> String:
	if option != OPTION_INCLUDE or not _option_on(OPTION_INCLUDE):
		return ""
	var os_name: String = os_dir_name(platform.get_os_name())
	var missing: PackedStringArray = missing_dirs(os_name, _preset_architectures(os_name))
	if missing.is_empty():
		return ""
	return missing_message(missing)


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	# The binaries travel next to the executable, never inside the .pck.
	if path.begins_with(BIN_DIR + "/"):
		skip()


func _export_begin(features: PackedStringArray, _is_debug: bool, path: String, _flags: int) -> void:
	var platform: EditorExportPlatform = get_export_platform()
	if platform == null:
		return
	var os_name: String = os_dir_name(platform.get_os_name())
	if os_name.is_empty() or path.is_empty():
		return
	var export_dir: String = path.get_base_dir()
	if _option_on(OPTION_INCLUDE):
		_export_binaries(platform, os_name, features_architectures(features), export_dir)
	if _option_on(OPTION_PERSONAS):
		_export_personas(platform, os_name, export_dir)


## "linux", "windows" or "macos" for an export platform's OS name ("" when Parley has no
## sidecar for it: Android, iOS, Web).
static func os_dir_name(platform_os_name: String) -> String:
	var lower: String = platform_os_name.to_lower()
	if lower.contains("windows"):
		return "windows"
	if lower.contains("mac"):
		return "macos"
	if lower.contains("linux") or lower.contains("bsd"):
		return "linux"
	return ""


## The architectures named in an export's features (a universal macOS export names two).
static func features_architectures(features: PackedStringArray) -> PackedStringArray:
	var found := PackedStringArray()
	for arch: String in ARCHITECTURES:
		if features.has(arch):
			found.append(arch)
	return found


## Folder of the packaged sidecar for [param os_name]-[param arch], as an absolute path.
static func binary_dir(os_name: String, arch: String) -> String:
	return ProjectSettings.globalize_path(BIN_DIR.path_join("%s-%s" % [os_name, arch]))


static func executable_name(os_name: String) -> String:
	return BINARY_NAME + (".exe" if os_name == "windows" else "")


## "<os>-<arch>" folders that lack their executable, for the given architectures (x86_64 when
## [param archs] is empty: the preset's architecture is not known then).
static func missing_dirs(os_name: String, archs: PackedStringArray) -> PackedStringArray:
	var missing := PackedStringArray()
	var wanted: PackedStringArray = archs if not archs.is_empty() else PackedStringArray(["x86_64"])
	for arch: String in wanted:
		var dir: String = binary_dir(os_name, arch)
		if not FileAccess.file_exists(dir.path_join(executable_name(os_name))):
			missing.append("%s-%s" % [os_name, arch])
	return missing


static func missing_message(missing: PackedStringArray) -> String:
	return (
		(
			"No Parley sidecar binary for %s in %s/. Build it on that OS with `make sidecar` "
			+ '(PyInstaller does not cross-compile; see the README, "The packaged sidecar"), '
			+ "or the exported game cannot start its sidecar."
		)
		% [", ".join(missing), BIN_DIR]
	)


## Copies the folder [param from] to [param to] (created), keeping symbolic links (where the
## OS allows) and Unix permissions, and marking [param executable] (a file name in
## [param from]) executable. Returns the first error, or OK.
static func copy_tree(from: String, to: String, executable: String = "") -> Error:
	var src: DirAccess = DirAccess.open(from)
	if src == null:
		return DirAccess.get_open_error()
	src.include_hidden = true
	var err: Error = DirAccess.make_dir_recursive_absolute(to)
	if err != OK:
		return err
	var dst: DirAccess = DirAccess.open(to)
	if dst == null:
		return DirAccess.get_open_error()
	for sub: String in src.get_directories():
		var from_sub: String = from.path_join(sub)
		if (
			src.is_link(from_sub)
			and dst.create_link(src.read_link(from_sub), to.path_join(sub)) == OK
		):
			continue
		err = copy_tree(from_sub, to.path_join(sub))
		if err != OK:
			return err
	for file_name: String in src.get_files():
		var from_file: String = from.path_join(file_name)
		var to_file: String = to.path_join(file_name)
		if FileAccess.file_exists(to_file) or dst.is_link(to_file):
			dst.remove(to_file)
		if src.is_link(from_file) and dst.create_link(src.read_link(from_file), to_file) == OK:
			continue
		var mode: int = FileAccess.get_unix_permissions(from_file)
		if mode > 0 and file_name == executable:
			mode |= EXECUTE_BITS
		err = DirAccess.copy_absolute(from_file, to_file, mode if mode > 0 else -1)
		if err != OK and mode > 0:
			# No chmod on this OS (a Windows editor exporting for Linux): copy without it.
			err = DirAccess.copy_absolute(from_file, to_file)
		if err != OK:
			return err
	return OK


func _export_binaries(
	platform: EditorExportPlatform, os_name: String, archs: PackedStringArray, export_dir: String
) -> void:
	var missing: PackedStringArray = missing_dirs(os_name, archs)
	if not missing.is_empty():
		_warn(platform, missing_message(missing))
	for arch: String in archs:
		var dir_name: String = "%s-%s" % [os_name, arch]
		if missing.has(dir_name):
			continue
		if os_name == "macos":
			add_shared_object(BIN_DIR.path_join(dir_name), PackedStringArray(), MACOS_TARGET)
			continue
		var to: String = export_dir.path_join(EXPORT_SUBDIR).path_join(dir_name)
		var exe: String = executable_name(os_name)
		var err: Error = copy_tree(binary_dir(os_name, arch), to, exe)
		if err != OK:
			platform.add_message(
				EditorExportPlatform.EXPORT_MESSAGE_ERROR,
				CATEGORY,
				"Could not copy the Parley sidecar to %s (%s)." % [to, error_string(err)]
			)
			continue
		var mode: int = FileAccess.get_unix_permissions(to.path_join(exe))
		if os_name != "windows" and (mode & FileAccess.UNIX_EXECUTE_OWNER) == 0:
			_warn(
				platform,
				(
					"Could not mark %s executable on this OS: run `chmod +x` on it after copying the game to %s."
					% [to.path_join(exe), os_name]
				)
			)


func _export_personas(platform: EditorExportPlatform, os_name: String, export_dir: String) -> void:
	var setting: String = str(ProjectSettings.get_setting(PERSONAS_SETTING, "res://personas"))
	if setting.is_empty():
		return
	if not setting.begins_with("res://"):
		_warn(
			platform,
			(
				(
					"%s is %s (outside the project): the exported game's sidecar looks for it relative to "
					+ "the game, so ship that folder yourself, or set a res:// folder to have it copied."
				)
				% [PERSONAS_SETTING, setting]
			)
		)
		return
	if os_name == "macos":
		_info(
			platform, "Persona files are not copied into macOS bundles; ship %s yourself." % setting
		)
		return
	var from: String = ProjectSettings.globalize_path(setting)
	var src: DirAccess = DirAccess.open(from)
	if src == null:
		_warn(
			platform,
			(
				"%s (%s) does not exist: the exported game has no personas."
				% [PERSONAS_SETTING, setting]
			)
		)
		return
	var to: String = export_dir.path_join(setting.trim_prefix("res://"))
	DirAccess.make_dir_recursive_absolute(to)
	for file_name: String in src.get_files():
		if PERSONA_EXTENSIONS.has(file_name.get_extension()):
			DirAccess.copy_absolute(from.path_join(file_name), to.path_join(file_name))


func _option_on(option: String) -> bool:
	if get_export_preset() == null:
		return true
	var value: Variant = get_option(option)
	return value == null or bool(value)


func _preset_architectures(os_name: String) -> PackedStringArray:
	var preset: EditorExportPreset = get_export_preset()
	if preset == null or not preset.has("binary_format/architecture"):
		return PackedStringArray()
	var arch: String = str(get_option("binary_format/architecture"))
	if arch == "universal" and os_name == "macos":
		return PackedStringArray(["arm64", "x86_64"])
	return PackedStringArray([arch]) if ARCHITECTURES.has(arch) else PackedStringArray()


## Shown in the export dialog's log; Godot also prints it ("WARNING: Parley: ...", which is
## what a headless --export-debug/--export-release shows).
static func _warn(platform: EditorExportPlatform, message: String) -> void:
	platform.add_message(EditorExportPlatform.EXPORT_MESSAGE_WARNING, CATEGORY, message)


static func _info(platform: EditorExportPlatform, message: String) -> void:
	platform.add_message(EditorExportPlatform.EXPORT_MESSAGE_INFO, CATEGORY, message)
