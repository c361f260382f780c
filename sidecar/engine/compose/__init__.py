"""The embedded engine's parts, split by job. Its public API, all of it:

    from sidecar.engine.embedded import EmbeddedEngine, NO_REPEAT_WINDOW

    engine = EmbeddedEngine()
    engine.greet(ctx, memories=()) -> Composed     # the opening line (a returning player's)
    engine.reply(ctx, player_text, sentiment, tone=None, memories=()) -> Composed
    engine.scene_reply(ctx, cue, player_text, sentiment, tone=None, memories=()) -> Composed
        # one line of a multi-NPC scene (`cue`: engine/scene/cue.py `SceneCue`)
    engine.observe(ctx, player_text, npc_text) -> Composed
        # a line the engine did not compose (an LLM's): what the NPC remembers, no composition
    engine.farewell(ctx) -> Composed               # the game ended the conversation
    engine.options(ctx, npc_line, last_player_line) -> list[Option]   # = options.embedded

`ctx` is a `TurnContext` (sidecar/engine/types.py) whose `state.engine` is the memory the
previous call returned (`Composed.memory`, an `EngineMemory` from sidecar/engine/state.py);
`memories` are the long-term memories of this player the pipeline recalled, best first
(`Recollection`s, sidecar/engine/recollect.py).
Every call is a pure function of its arguments: the same context gives the same line (every
choice comes from `text.reseed(seed, turn, persona id, purpose, attempt)`), and no player text
makes it raise. What it reads and speaks comes from elsewhere, each with one home:

    sidecar/engine/reading.py   the player's line as a typed `Reading`
    sidecar/engine/phrases.py   the phrase tables (sidecar/data/*.toml, a persona's [phrases])
    sidecar/engine/text.py      normalisation, similarity, token estimate, seeds
    sidecar/engine/state.py     the stored state, typed and versioned
    sidecar/engine/options.py   answer options (the engine's own, a provider's, the final three)
    sidecar/engine/remember.py  what a line leaves in long-term memory, and a memory said back

The parts in this package (internal; the engine and options.py use them):

    index.py     which persona topics and opinions a line names, and how to name them back
    memory.py    the memory as a mutable working copy for one call; `learn` from a Reading
    sentence.py  filling placeholders, tidying a line, the parts of a reply (`Draft`)
    call.py      one engine call: tuning, phrases, memory, the no-repeat window, seeded picks
    reply.py     composing a reply (core, reaction, acknowledgement, extras, question) and
                 a goodbye
    scene.py     a scene line: answer the player and turn to the next NPC by name, or
                 answer the NPC before, agreeing or arguing (sidecar/data/scene.toml)
    recollect.py long-term memory in a line: the returning player's welcome and promise,
                 "do you remember me?", a memory brought up, a secret or a gift acknowledged
"""
