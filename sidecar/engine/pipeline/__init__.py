"""The turn as named steps over one typed draft; `Dialogue` (sidecar/engine/turn.py) runs them.

    load      load.py      the conversation, its recent lines, affinity and goal, in one read;
                           refuses a missing or ended conversation
    read      read.py      the player's line read for one speaker → the `Draft` (draft.py)
    recall    recall.py    the speaker's long-term memories of the player, ranked for the line
    context   context.py   the context budget: folds the oldest lines into a rolling summary
                           when the recent ones no longer fit (store/summaries.py)
    generate  generate.py  the line through the quality gate, streamed, reset on a rejected
                           attempt; what the kept line leaves in memory (composed or observed)
    act       actions.py   what the NPC does besides speaking: `prepare` before generate (the
                           speaker's actions, the situation, the game's results), then the
                           kept line's proposals validated, stored and announced (`npc.action`)
    settle    settle.py    NPC sentiment, arc, affinity, goal (heuristics, the source's judge)
    offer     offer.py     the player's answer options (a turn, a greeting, a re-roll)
    remember  remember.py  the long-term memories the turn leaves (the source's reading, else
                           the line-reading heuristics)
    overhear  overhear.py  what the bystanders the game named remember of the turn, and what
                           NPCs who meet there gossip (engine/witness.py, engine/gossip.py)
    persist   persist.py   one store transaction with the state the player saw
    announce  announce.py  affinity and goal events, after the commit

A scene (several NPCs answering one line) runs read → … → settle per speaker: the speaker is
a parameter of `read.read_line`, and every later step reads it from the draft.
"""
