"""Multi-NPC scenes (issue 14): several NPCs answer one player line and talk to each other.

turns.py  who speaks next and to whom: strategies, the opening round, banter, the cap
"""
