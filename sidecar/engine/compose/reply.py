"""Composing a reply: the core (what the line is about), the reaction to the player's tone, the
acknowledgement of what they said about themself, extras, an aside and a question back; and
the goodbye.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence

from sidecar.engine import requests
from sidecar.engine import tone as tones
from sidecar.engine.actions import gives_errands, proposed_in
from sidecar.engine.compose import recollect
from sidecar.engine.compose.call import Call
from sidecar.engine.compose.index import PersonaIndex, forms, index_for, said_keyword
from sidecar.engine.compose.memory import WorkingMemory
from sidecar.engine.compose.sentence import Draft, join_items, word_count
from sidecar.engine.reading import Reading
from sidecar.engine.recollect import Recollection, query_words
from sidecar.engine.sentiment import Tone
from sidecar.engine.state import Preference
from sidecar.engine.text import normalize, tokens
from sidecar.personas.model import PHRASE_TABLES
from sidecar.store.memory import NewMemory

_HOOK_EVERY = 5
_MIN_CHARS = 12
"""A reply shorter than this gets a question back (a bare "Oh, hi…" reads as a shrug)."""
_FAREWELL_BANDS = PHRASE_TABLES["farewell_tails"].keys
"""Affinity bands whose farewells get a tail."""


def relevant_lines(lines: Sequence[str], player_text: str) -> tuple[int, list[str]]:
    """The persona lines (facts, a topic's lines) the player's line asks about most, and how
    strongly: each content word it shares with a line (four letters or more, memory.toml's
    stop words left out, any plural form) weighs 1, or 2 when it is long (six letters or
    more) or a name in the line. "Have you heard the chapel bell?" finds the chapel bell fact
    (3); "Can I borrow your left shadow?" shares only "left" with "…left a year before
    finishing" (1). (0, []) when none shares a word."""
    asked = _asked_words(player_text)
    if not asked:
        return 0, []
    most, best = 0, []
    for line in lines:
        weights = _line_words(line)
        hit = asked & weights.keys()  # most lines share nothing: one set operation each
        if not hit:
            continue
        n = sum(weights[w] for w in hit)
        if n > most:
            most, best = n, [line]
        elif n == most:
            best.append(line)
    return most, best


@functools.lru_cache(maxsize=1024)
def _asked_words(player_text: str) -> frozenset[str]:
    """The player's content words in every plural form (`relevant_lines`); one turn asks
    for the same line's up to three times."""
    return frozenset(f for w in query_words(player_text) if len(w) > 3 for f in forms(w))


@functools.lru_cache(maxsize=2048)
def _line_words(line: str) -> dict[str, int]:
    """A persona line's words and the weight of each (`relevant_lines`)."""
    names = {w.lower() for w in re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+", line)}
    return {w: 2 if len(w) >= 6 or w in names else 1 for w in tokens(line)}


def _unsaid(turn: Call, mem: WorkingMemory, lines: Sequence[str]) -> list[str]:
    """The lines not said yet in this conversation (nor lately): what a choice by meaning may
    pick without repeating itself."""
    out = []
    for line in lines:
        said = turn.render(line, mem)
        if normalize(said) not in mem.cores and not turn.said_recently(said):
            out.append(line)
    return out


ANSWERS_A_FACT = 2
"""A question nothing else answers is answered with a fact it weighs this much against."""
OUTWEIGHS_A_TOPIC = 3
"""... and with the fact rather than a topic one of its words names."""


_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|my|me|mine|myself)\b")


def goodbye(turn: Call, rng: random.Random, mem: WorkingMemory, tone_: str, news: str = "") -> Draft:
    """The NPC's goodbye; `tone_` keys its reaction (friendly, rude, sympathy, comfort);
    `news` is said first (as in `draft_reply`)."""
    d = Draft(news=news, core=turn.pick_line(rng, turn.persona.farewells, mem), max_chars=turn.max_chars)
    band = turn.tuning.band
    addr = turn.name_for_addressing(mem)
    if tone_ != "neutral" and band != "close":
        d.reaction = reaction(turn, rng, mem, tone_, addr)
    if band in _FAREWELL_BANDS and rng.random() < 0.6:
        d.tail = turn.pick(rng, turn.ph("farewell_tails", band), mem, addr)
    return d


def care(reading: tones.ToneReading) -> str | None:
    """`comfort` for a fear (unless with grief), `concern` for the player's own hurt or
    illness, `sympathy` for grief, bad news or a confession (told without hostility), else
    None."""
    if not reading.sad_news:
        return None
    cues = set(reading.cues)
    if "fear" in cues and "grief" not in cues:
        return "comfort"  # "I'm scared of the wolves" is a fear, though wolves are bad news
    if cues & {"grief", "bad_news", "confession"}:
        return "sympathy"
    return "concern" if "ailment" in cues else "sympathy"


def reaction(turn: Call, rng: random.Random, mem: WorkingMemory, tone_: str,
             addr: str) -> str:
    if tone_ == "neutral":
        return ""
    if turn.tuning.band == "guarded":
        return turn.pick(rng, turn.ph("guarded_react", tone_))
    return turn.pick(rng, turn.ph("react", turn.voice, tone_), mem, addr)


def pending_recall(turn: Call, mem: WorkingMemory) -> tuple[Preference, bool] | None:
    """The oldest like/dislike learned on an earlier turn and not yet brought up."""
    for item, dislike in [(x, False) for x in mem.likes] + [(x, True) for x in mem.dislikes]:
        if item.what not in mem.recalled and item.turn < turn.ctx.turn:
            return item, dislike
    return None


def recall_text(turn: Call, rng: random.Random, mem: WorkingMemory,
                item: Preference, dislike: bool) -> str:
    mem.recalled.append(item.what)
    bank = "recall_dislike" if dislike else "recall"
    addr = turn.name_for_addressing(mem)
    return turn.pick(rng, turn.ph(bank, turn.voice), mem, addr,
                     verb=item.verb, like=item.what)


def draft_reply(
    turn: Call, rng: random.Random, mem: WorkingMemory, heard: Reading, tone_: Tone,
    new_name: str | None, asked: requests.Asked | None = None, care: str | None = None,
    jab: bool = False, memories: Sequence[Recollection] = (), told: Sequence[NewMemory] = (),
    player_text: str = "", news: str = "",
) -> tuple[Draft, str | None, list[str]]:
    """`care` (`sympathy`, `comfort`, from `care()`) answers sad news or a fear: its reaction
    comes first, it is the whole answer when the core would be a fallback line (or, for
    sympathy, a topic line), and no quip, question back or dry opener follows it. `jab`
    (`ToneReading.jab`): the line's words are hostile to the NPC, so the reaction answers it,
    not a topic a word in it names. `memories` (long-term, best first) answer "Do you
    remember me?"; one relevant to the line is brought up once per conversation. `told`: the
    secret, gift or promise this line tells (sidecar/engine/remember.py), acknowledged, as is a
    promise `player_text` keeps. `news`: the sentence said first (the NPC's reaction to the
    game's result of its last action)."""
    persona, voice, knobs = turn.persona, turn.voice, turn.knobs
    index = index_for(persona)
    why: list[str] = []
    addr_full = turn.name_for_addressing(mem)
    addr = addr_full if rng.random() < 0.6 else ""
    d = Draft(news=news, max_chars=turn.max_chars)
    topic: str | None = None
    opined: str | None = None  # the opinion key the core says (a catchphrase may be about it)

    # What the player said about themself, acknowledged.
    told_ack = recollect.acknowledge(turn, rng, mem, player_text, told, memories, addr_full)
    if new_name:
        d.ack = turn.pick(rng, turn.ph("name_ack", voice), mem, addr)
    elif told_ack:
        d.ack = told_ack
    elif heard.likes:
        verb, what = heard.likes[-1]
        d.ack = turn.pick(rng, turn.ph("like_ack", voice), mem, addr, verb=verb, like=what)
    elif heard.dislikes:
        verb, what = heard.dislikes[-1]
        d.ack = turn.pick(rng, turn.ph("dislike_ack", voice), mem, addr, verb=verb, like=what)

    topics = index.topics.find(heard.tokens)
    opinions = index.opinions.find(heard.tokens)
    # A question a fact not yet said answers strongly (`relevant_lines`) is about the fact, not
    # a topic one of its words names ("Have you heard the chapel bell?" is no rumour).
    asking = heard.question or heard.asks_only  # "Tell me about the chapel bell." asks too
    fact_weight, facts_asked = relevant_lines(persona.facts, player_text) if asking else (0, [])
    # Only a fact not yet said answers by meaning: a second "chapel bell?" gets another line.
    facts_asked = _unsaid(turn, mem, facts_asked)
    if fact_weight >= OUTWEIGHS_A_TOPIC and facts_asked and not (heard.asks_opinion and opinions):
        topics = []
    smalltalk = next(
        (kind for kind, hit in (("how", heard.how), ("sorry", heard.sorry),
                                ("thanks", heard.thanks), ("hello", heard.greeting)) if hit),
        None,
    )
    # After a secret, nothing else of the player's is brought up in the same breath.
    pending = None if any(m.kind == "secret" for m in told) else pending_recall(turn, mem)
    extras: list[str] = []
    small_core: str | None = None

    def again(text: str) -> str:
        """A bank answer said moments ago is not said again word for word."""
        return turn.pick(rng, turn.ph("again", voice), mem, addr) if turn.said_recently(text) else text

    def exhausted(subject: str) -> str:
        kw = index.subject(said_keyword(persona, subject, heard.tokens),
                           said_by_player=False)
        hook = hook_keyword(turn, mem, index, besides=subject)
        if hook:
            extras.append(turn.pick(rng, turn.ph("hooks", voice), mem, addr, kw=hook))
        return turn.pick(rng, turn.ph("exhausted", voice), mem, addr, kw=kw)

    # "No thanks." to the price or the errand the NPC just named: the no is the answer (not
    # "Thank you. That is gracious." to the "sorry" in "No, sorry, not today.").
    last = turn.ctx.last_exchange() if heard.declines else None
    declined = last is not None and proposed_in(persona.actions, last[1])
    if declined:
        smalltalk = None
    # What follows a joke the NPC just told: another ("Another one!"), a laugh or a groan.
    after_joke = (heard.more or heard.laughs or heard.unamused or heard.applauds) and turn.just_said(persona.jokes, mem)
    joke = heard.asks_joke or (heard.more and after_joke)
    landed: str | None = None
    if after_joke and not joke:
        landed = "flopped" if heard.unamused else "laughed" if heard.laughs or heard.applauds else None
    # The core: the one thing this reply is about.
    opinion = persona.opinions[opinions[0]] if opinions else None
    if heard.asks_name:
        bank = "name_known" if turn.known_name(mem) else "name_unknown"
        earlier = recollect.name_answer(turn, rng, mem, memories)
        d.core = again(earlier or turn.pick(rng, turn.ph(bank, voice), mem, addr))
        why.append("core:memory:name")
    elif heard.asks_memory and (memories or not (mem.likes or mem.dislikes or turn.known_name(mem))):
        d.core = again(recollect.remember_answer(turn, rng, mem, memories))
        why.append("core:memory:longterm")
    elif heard.asks_likes:
        d.core = again(likes_answer(turn, rng, mem, addr, recollect.likes_remembered(memories)))
        why.append("core:memory:likes")
    elif joke:
        # Asked before a request: "Tell me a funny story" is no errand for the bard.
        picked = turn.pick_fresh_line(rng, persona.jokes, mem)
        d.punchline = picked is not None
        d.core = picked if picked is not None else turn.pick(
            rng, turn.ph("jokes_told" if persona.jokes else "no_jokes", voice), mem, addr)
        why.append("core:joke" if picked is not None else "core:joke:none")
    elif landed is not None:
        d.core = again(turn.pick(rng, turn.ph(f"joke_{landed}", voice), mem, addr))
        why.append(f"core:joke:{landed}")
    elif declined:
        d.core = again(turn.pick(rng, turn.ph("declined", voice), mem, addr))
        why.append("core:declined")
    elif heard.applauds:
        # "That was beautiful." after the song: thanks for the praise, not Rook's romance topic.
        d.core = again(turn.pick(rng, turn.ph("applause", voice), mem, addr))
        why.append("core:applause")
    elif heard.asks_work:
        # "Any work for me?" with no errand to give (a rule's `offer`, said instead of this
        # line when there is one): not the NPC's own work topic, nor "not my trade". In a
        # scene no action is decided, so an NPC with an errand puts it off till it is alone
        # with the player, rather than say it has none.
        later = bool(turn.ctx.others) and gives_errands(persona.actions)
        d.core = again(turn.pick(rng, turn.ph("work_later" if later else "no_work", voice), mem, addr))
        why.append("core:work:later" if later else "core:work:none")
    elif asked is not None and heard.asks_price and asked.kind == "own":
        # "How much is the stew?" is answered with the price, not with the stew served.
        d.core = turn.pick_line(rng, requests.price_lines(asked, voice), mem)
        why.append(f"core:request:price:{asked.key}")
    elif asked is not None:
        # A request in (or outside) the NPC's trade is answered, not met with a topic line
        # that happens to share a word ("sword" is also Ansel's `danger` topic).
        d.core = turn.pick_line(rng, requests.lines(asked, voice), mem)
        why.append(asked.note)
    elif opinion is not None and (heard.asks_opinion or not topics):
        opinion_line = turn.render(opinion, mem)
        d.core = exhausted(opinions[0]) if turn.said_recently(opinion_line) else opinion_line
        mem.note_core(normalize(opinion_line))
        opined = opinions[0]
        why.append(f"core:opinion:{opinions[0]}")
    elif topics:
        topic = topics[0]
        # Of the topic's lines, one not yet said that the line shares words with ("Why did
        # you leave the army?" → "Why did I leave? …"; "I cleared your cellar" → the line
        # about the cellar cleared), else any.
        lines = persona.topics[topic].lines
        asked_lines = _unsaid(turn, mem, relevant_lines(lines, player_text)[1])
        picked = turn.pick_fresh_line(rng, asked_lines, mem) if asked_lines else None
        picked = picked or turn.pick_fresh_line(rng, lines, mem)
        d.core = picked if picked is not None else exhausted(topic)
        mem.topics[topic] = mem.topics.get(topic, 0) + 1
        why.append(f"core:topic:{topic}")
        if opinion is not None and not turn.said_recently(turn.render(opinion, mem)):
            extras.append(turn.render(opinion, mem))
            why.append(f"opinion:{opinions[0]}")
    elif heard.asks_npc_name:
        # The role is said only when it holds none of the NPC's names ("the Captain"), or
        # the line would have the NPC speak of itself in the third person.
        role = persona.role.lower()
        third = any(re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", role)
                    for n in persona.names)
        intro = turn.pick(rng, turn.ph("self_name", voice), mem, addr) + " " + turn.pick(
            rng, turn.ph("self_no_role" if third else "self_role", voice), mem, addr)
        d.core = again(intro)
        why.append("core:self:name")
    elif heard.asks_self:
        # The fact the question is about, else one of the NPC opening up, else any.
        personal = [f for f in persona.facts if _FIRST_PERSON.search(f)]
        picked = (turn.pick_fresh_line(
                      rng, facts_asked or _unsaid(turn, mem, relevant_lines(persona.facts, player_text)[1]), mem)
                  or turn.pick_fresh_line(rng, personal, mem)
                  or turn.pick_fresh_line(rng, persona.facts, mem))
        d.core = picked if picked is not None else turn.pick(rng, turn.ph("no_facts"))
        why.append("core:fact" if picked is not None else "core:self:none")
    elif smalltalk:
        d.core = again(turn.pick(rng, turn.ph("smalltalk", voice, smalltalk), mem, addr))
        small_core, smalltalk = smalltalk, None
        why.append("core:smalltalk")
    elif pending is not None and not d.ack:
        d.core = recall_text(turn, rng, mem, *pending)
        pending = None
        why.append("core:recall")
    elif d.ack:
        d.core, d.ack = d.ack, ""
        why.append("core:ack")
    elif (brought := recollect.relevant(mem, memories) if care is None and not jab else None) is not None:
        # Nothing in the persona answers the line, but the NPC remembers something it is about.
        d.core = recollect.bring_up(turn, rng, mem, brought)
        why.append("core:recall:longterm")
    elif (fact_weight >= ANSWERS_A_FACT and care is None and not jab
          and (fact := turn.pick_fresh_line(rng, facts_asked, mem)) is not None):
        # No topic names it, but a fact of the NPC's is about it ("Who keeps the accounts?").
        d.core = fact
        why.append("core:fact")
    else:
        picked = turn.pick_fresh_line(rng, persona.fallbacks, mem)
        d.core = picked if picked is not None else turn.pick(rng, turn.ph("generic", voice))
        why.append("core:fallback")
        hook = hook_keyword(turn, mem, index)
        if hook and turn.ctx.turn - mem.hook_turn >= _HOOK_EVERY and rng.random() < 0.6:
            extras.append(turn.pick(rng, turn.ph("hooks", voice), mem, addr, kw=hook))
            mem.hook_turn = turn.ctx.turn

    # Reaction: sympathy for sad news, small talk beside another core, else the player's
    # tone (always shown).
    if care is not None and small_core != "sorry":
        d.reaction = reaction(turn, rng, mem, care, addr)
    elif smalltalk:
        d.reaction = turn.pick(rng, turn.ph("smalltalk", voice, smalltalk), mem, addr)
    elif heard.affection and turn.tuning.band != "guarded" and voice == "flirty":
        d.reaction = turn.pick(rng, turn.ph("affection_flirty"))
    elif small_core in {"thanks", "sorry"}:
        pass  # the small talk already answers the thanks or the apology
    elif asked is not None or ((joke or landed) and tone_ != "rude"):
        # A chipped blade or a headache is no insult, "please" no compliment, and "Make me
        # laugh" or "Haha, good one!" is answered by the joke or its reception alone.
        pass
    elif (tone_ == "rude" and not heard.sorry
          and (heard.addressed or not (heard.likes or heard.dislikes))) or (
            tone_ == "friendly" and heard.addressed and not d.ack and not heard.asks_only):
        # Kind words about fishing are no compliment to the NPC, and hating rain is no
        # insult: a reaction needs the line to be aimed at the NPC (rudeness may also be
        # about the place), and an apology is not answered as rudeness. A question is
        # answered, not thanked: "How gracious of you." to "What's your honest opinion?"
        # reads as if the NPC heard a compliment.
        d.reaction = reaction(turn, rng, mem, tone_, addr)

    incidental = any(w.startswith(("core:topic", "core:opinion", "core:fallback")) for w in why)
    jab = jab and tone_ == "rude" and not heard.sorry and not (heard.likes or heard.dislikes)
    if d.reaction and (
        (care is not None and (care == "sympathy" and incidental or "core:fallback" in why))
        or (care is None and (jab and incidental or "core:fallback" in why))
    ):
        # The reaction is the answer when the core would only be a fallback line ("Is that a
        # city thing?"), or a topic line set off by a word in grief ("brother" → a family
        # quip) or in a jab ("You couldn't catch a cold" → the weather): nothing unrelated,
        # no hook, quip or question back, follows it.
        d.core, d.reaction, extras = d.reaction, "", []
        why.append("core:care" if care is not None else "core:reaction")
        topic = opined = None

    # Extras, within the voice's budget of parts and words.
    brought = recollect.relevant(mem, memories) if care is None and not jab else None
    if brought is not None and not any(
        w.startswith(("core:memory", "core:request", "core:reaction", "core:recall")) for w in why
    ):
        extras.insert(0, recollect.bring_up(turn, rng, mem, brought))
        why.append("recall:longterm")
    if pending is not None and turn.ctx.turn - pending[0].turn >= 2:
        extras.insert(0, recall_text(turn, rng, mem, *pending))
        why.append("recall")
    if tone_ == "friendly" and turn.tuning.band == "close" and rng.random() < 0.5:
        extras.append(turn.pick(rng, turn.ph("close_warm"), mem, addr))
    if topic and persona.facts and rng.random() < (0.35 if voice == "outgoing" else 0.1):
        fact = turn.pick_fresh_line(rng, persona.facts, mem)
        if fact is not None:
            extras.append(fact)
    budget = knobs.max_parts
    kept: list[str] = []
    for extra in extras:
        if budget <= 0 or word_count([d.reaction, d.ack, d.core, *kept]) >= knobs.target_words:
            break
        kept.append(extra)
        budget -= 1
    d.extras = kept

    signature = {"sarcastic": knobs.sarcasm, "intellectual": knobs.qualifying,
                 "flirty": knobs.playfulness, "outgoing": knobs.exclamation * 0.4,
                 "shy": 0.15}[voice]
    substantive = any(w.startswith(("core:topic", "core:opinion", "core:fact", "core:fallback",
                                    "core:recall", "core:self")) for w in why)
    # No quip after sad news: "Careful, I might start to enjoy this." reads as mockery.
    # A joke's punchline, a request answered, or a reaction that is the whole answer, stands alone: no question
    # back or quirk glued after it ("I can make your horseshoe. Do you… like it here?").
    alone = any(w.startswith(("core:request", "core:reaction", "core:care", "core:joke")) for w in why)
    # A promise, gift or secret acknowledged is answer enough when nothing else was said: a
    # question back about "it" after "I'll hold you to that!" has no "it" to be about.
    alone = alone or (bool(told_ack) and not substantive)
    substantive = substantive and not alone
    # A line the NPC did not follow has no "it" to ask back about: "Can't say I follow.
    # Have you tried it yourself?" The fallback (and a hook, if any) is the whole answer.
    unheard = "core:fallback" in why
    if budget > 0 and substantive and care is None and rng.random() < signature:
        d.aside = turn.pick(rng, turn.ph("asides", voice), mem, addr)
        budget -= 1
    # After a bare hello there is no "it" yet: "What brings you by?", not "What do you think?".
    asks_back = "greet_questions" if small_core == "hello" else "questions"
    if (budget > 0 and not heard.asks_name and not heard.asks_likes and care is None and not alone
            and not unheard):
        # Not in a scene: the line may be handed to another NPC ("Rook? Lovely lad… I didn't
        # catch your name, by the way!", said to Rook).
        if (not turn.known_name(mem) and not mem.asked_name and turn.ctx.turn >= 2 and not turn.ctx.others
                and turn.tuning.band != "guarded" and rng.random() < 0.5):
            d.question = turn.pick(rng, turn.ph("ask_name", voice))
            mem.asked_name = True
        elif rng.random() < knobs.asks_back:
            d.question = turn.pick(rng, turn.ph(asks_back, voice), mem, addr)

    d.somber = care is not None
    if len(d.text()) < _MIN_CHARS and not d.question and care is None and not alone and not unheard:
        d.question = turn.pick(rng, turn.ph(asks_back, voice), mem, addr)
    turn.shape(rng, d)
    if not alone and care is None:
        # A catchphrase before sympathy ("Don't make me write this down. I'm sorry.") mocks.
        turn.sprinkle(rng, d, mem, topic or opined)
    return d, topic, why


def likes_answer(turn: Call, rng: random.Random, mem: WorkingMemory, addr: str,
                 remembered: Sequence[str] = ()) -> str:
    """`remembered`: likes told in earlier meetings ("love fishing"), used when this
    conversation has none."""
    if not mem.likes and not mem.dislikes:
        if remembered:
            lead = turn.ph("likes_lead", turn.voice)[0]
            return turn.fill(f"{lead} {', and you '.join(remembered[:3])}, {{addr}}.", mem, addr)
        return turn.pick(rng, turn.ph("likes_unknown", turn.voice))
    said = []
    if mem.likes:
        said.append(join_items([f"{x.verb} {x.what}" for x in mem.likes[-3:]]))
    if mem.dislikes:
        said.append(join_items([f"{x.verb} {x.what}" for x in mem.dislikes[-2:]]))
    lead = turn.ph("likes_lead", turn.voice)[0]
    for x in mem.likes + mem.dislikes:
        if x.what not in mem.recalled:
            mem.recalled.append(x.what)
    return turn.fill(f"{lead} {', and you '.join(said)}, {{addr}}.", mem, addr)


def hook_keyword(turn: Call, mem: WorkingMemory, index: PersonaIndex,
                 besides: str | None = None) -> str | None:
    """A topic the player has not asked about yet, to steer the talk somewhere new."""
    for key in turn.persona.topics:
        if key not in mem.topics and key != besides:
            return index.subject(key, said_by_player=False)
    return None


__all__ = [
    "draft_reply",
    "goodbye",
    "hook_keyword",
    "likes_answer",
    "pending_recall",
    "care",
    "reaction",
    "recall_text",
]
