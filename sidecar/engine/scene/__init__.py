"""Multi-NPC scenes (issue 14): several NPCs answer one player line and talk to each other.

turns.py        who speaks next and to whom: strategies, the opening round, banter, the cap
cue.py          what one scene line is told (`TurnInput.scene`): addressee, present, stance,
                the line it answers; the LLM instruction
attribution.py  lines a speaker wrote under another's label, cut out (`split_foreign`)
bonds.py        the turn-taker's NPC↔NPC bonds over the store, moved by tone (`StoredBonds`)
"""
