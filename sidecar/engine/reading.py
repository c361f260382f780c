"""Reading the player's line: who they say they are, what they like, what they ask, how
they take their leave — as one typed `Reading`.

Used by the embedded engine (what to answer), the goal rules (did the player apologise, ask a
favour, flirt) and, later, long-term memory (facts the player stated). Regexes, no model:
cheap enough to run on every line, wrong in the ways regexes are (see the tests for what is
and is not recognised). Pure and deterministic; `read` caches by text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from sidecar.engine.data import read_toml, word_list, word_map
from sidecar.engine.sentiment import Tone, tone
from sidecar.engine.text import straight, tokens
from sidecar.engine.text import words as text_words
from sidecar.engine.types import Sentiment

MAX_PARSED_CHARS = 2_000
"""Only the start of a (huge) player line is read for names, likes and keywords."""

_NAME_TOKEN = r"([^\W\d_][^\W\d_]*(?:['-][^\W\d_]+)?)"
_NAME_EXPLICIT = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name's|(?:you\s+can\s+|just\s+|they\s+)?call\s+me|"
    r"i\s+am\s+called|i'm\s+called|i\s+go\s+by)\s+" + _NAME_TOKEN,
    re.IGNORECASE,
)
_NAME_IMPLICIT = re.compile(r"\b(?:i'm|i\s+am|im)\s+" + _NAME_TOKEN, re.IGNORECASE)
_WORDS = read_toml("words.toml")
_NOT_NAMES = frozenset(word_list(_WORDS, "words.toml", "not_names"))
"""After "I'm" / "I am": not a name ("I'm tired")."""
_LIKE = re.compile(
    r"(?<!do )(?<!did )(?<!if )(?<!what )(?<!would )\bi\s+"
    r"(?:really\s+|truly\s+|just\s+|also\s+|absolutely\s+|do\s+|quite\s+|totally\s+|kind\s+of\s+"
    r"|kinda\s+|still\s+|so\s+)*"
    r"(like|love|enjoy|adore|hate|dislike|detest|loathe|despise|can't\s+stand|cannot\s+stand"
    r"|don't\s+like|do\s+not\s+like|don't\s+enjoy)\s+([^.!?;:,\n]{1,80})",
    re.IGNORECASE,
)
_LIKE_INTO = re.compile(
    r"\b(?:i'm|i\s+am)\s+(?:really\s+|very\s+|quite\s+)?(?:into|a\s+(?:big\s+|huge\s+)?fan\s+of"
    r"|fond\s+of)\s+([^.!?;:,\n]{1,80})",
    re.IGNORECASE,
)
_OBJECT_STOP = re.compile(
    r"\s+\b(?:but|because|since|though|although|when|while|so|if|and\s+i|and\s+you|or\s+i)\b.*$"
)
_OBJECT_BAD_START = frozenset(word_list(_WORDS, "words.toml", "object_bad_start"))
_SWAP = word_map(_WORDS, "words.toml", "swap")
"""First person to second ("my dog" → "your dog")."""
_POSITIVE_VERBS = frozenset(word_list(_WORDS, "words.toml", "positive_verbs"))

_GOODBYE = re.compile(
    r"\b(?:good-?\s?bye|bye(?:-?bye)?|farewell|cya|so\s+long|good\s*night|until\s+next\s+time"
    r"|(?<!to\s)see\s+(?:you|ya)(?!\s+(?:there|at|in|the|tomorrow\s+at))"
    r"|take\s+care(?!\s+of)"
    r"|(?:talk|catch|speak)\s+(?:to\s+|with\s+)?you\s+(?:later|soon)"
    r"|gotta\s+(?:go|run|bounce|dash)"
    r"|(?:i|we)(?:'ve|'d|'ll|'m)?\s+(?:really\s+)?(?:have\s+to|had\s+better|better|need\s+to|must"
    r"|should|got\s+to|have\s+got\s+to|gotta|am\s+going\s+to|will)\s+"
    r"(?:go|leave|be\s+going|get\s+going|be\s+off|head\s+off|head\s+out|run|be\s+on\s+my\s+way)"
    r"(?=\s*(?:now|home|soon|then|already|for\s+now|too|again)?\s*(?:[.!,;…]|$|\s+(?:bye|goodbye"
    r"|see|take|farewell|thanks|thank|until|sorry)))"
    r"|(?:i'm|i\s+am)\s+(?:off|leaving|heading\s+(?:out|off|home)|going\s+now|out\s+of\s+here)"
    r")\b",
    re.IGNORECASE,
)
_NOT_GOODBYE = re.compile(
    r"\b(?:don't|do\s+not|never|didn't|can't|won't)\s+(?:say\s+)?(?:good-?\s?bye|go|leave)\b",
    re.IGNORECASE,
)
_ASKS_NAME = re.compile(
    r"\b(?:what(?:'s|\s+is|\s+was)\s+my\s+name|(?:do|did|can)\s+you\s+(?:still\s+)?(?:remember"
    r"|know|recall)\s+(?:my\s+name|who\s+i\s+am)|who\s+am\s+i|say\s+my\s+name"
    r"|remember\s+my\s+name|what\s+do\s+you\s+call\s+me)\b",
    re.IGNORECASE,
)
_ASKS_LIKES = re.compile(
    r"\b(?:what\s+(?:do|did)\s+i\s+(?:say\s+i\s+)?(?:like|love|enjoy|hate)"
    r"|(?:do|did|can)\s+you\s+(?:still\s+)?(?:remember|know|recall)\s+what\s+i\s+"
    r"(?:like|love|enjoy|hate|said|told)|what\s+are\s+my\s+(?:hobbies|interests|likes))\b",
    re.IGNORECASE,
)
_ASKS_MEMORY = re.compile(
    r"\b(?:(?:do|did|can|will)\s+you\s+(?:still\s+|even\s+)?(?:remember|recall|recognise|recognize)\s+(?:me|us"
    r"|what\s+i\s+(?:promised|told\s+you|said|gave|did|owe)|the\s+last\s+time|our|when\s+i|anything\s+about\s+me)"
    r"|remember\s+me\b|have\s+we\s+met|we've\s+met|what\s+did\s+i\s+(?:promise|tell\s+you|say|give\s+you)"
    r"|(?:did|have)\s+i\s+(?:ever\s+)?(?:promised?|told\s+you|tell\s+you|given?\s+you)\b"
    r"|^\W*(?:do\s+you\s+)?remember\s+(?:the|my|our|that|when|what|how)\b"
    r"|what\s+do\s+you\s+(?:remember|know|recall)\s+(?:about|of)\s+me)",
    re.IGNORECASE,
)
_ASKS_NPC_NAME = re.compile(
    r"\b(?:what(?:'s|\s+is)\s+your\s+name|who\s+are\s+you|your\s+name|who\s+might\s+you\s+be)\b",
    re.IGNORECASE,
)
# "I heard a joke yesterday." and "I know a good joke." tell of a joke, they ask for none:
# "a"/"some" needs "you" before the verb; "any" does not ("Know any riddles?").
_ASKS_JOKE = re.compile(
    r"\b(?:tell\s+(?:me\s+|us\s+)?(?:a|another|one\s+more|your\s+best|some|any)\s+(?:good\s+|funny\s+)?"
    r"(?:jokes?|riddles?|funny\s+stor(?:y|ies))"
    r"|give\s+(?:me|us)\s+(?:a|another|one\s+more)\s+(?:good\s+)?(?:joke|riddle)"
    r"|(?:know|got|have|heard|hear)\s+any\s+(?:good\s+|funny\s+)?(?:jokes?|riddles?)"
    r"|you\s+(?:know|got|have)\s+(?:a|some)\s+(?:good\s+|funny\s+)?(?:jokes?|riddles?)"
    r"|make\s+me\s+laugh|(?:tell\s+me|say)\s+something\s+funny|(?:another|one\s+more)\s+joke"
    r"|joke\s*,?\s*please)\b",
    re.IGNORECASE,
)
# How a joke went down (read as such only right after the NPC told one). Not amused wins:
# "Haha, not funny." is no laugh.
_LAUGHS = re.compile(
    r"(?:\b(?:ha(?:ha)+h?|hah|lol|lmao|he(?:he)+|good\s+one|nice\s+one|hilarious|brilliant"
    r"|you(?:'re|\s+are)\s+(?:funny|hilarious)|(?:that's|that\s+is|that\s+was|so|very)\s+funny"
    r"|made\s+me\s+laugh|i\s+laughed)\b|^\W*ha\W*$)",
    re.IGNORECASE,
)
_UNAMUSED = re.compile(
    r"\b(?:not\s+(?:very\s+|that\s+|even\s+)?funny|(?:wasn't|was\s+not|isn't|is\s+not)\s+"
    r"(?:very\s+|that\s+|even\s+)?funny|(?:bad|terrible|awful|worst|lame|dreadful|old)\s+joke"
    r"|(?:that|it)\s+(?:was|is)\s+(?:terrible|awful|bad|lame|dreadful|painful)|groan|boo+|i\s+don't\s+get\s+it"
    r"|heard\s+(?:it|that\s+one)\s+before)\b",
    re.IGNORECASE,
)
# The whole line praises what the NPC just did ("That was beautiful.", "Bravo!"): a
# compliment to the song or the story, not a topic ("beautiful" is Rook's romance keyword).
_FINE = (r"(?:beautiful|lovely|wonderful|amazing|brilliant|gorgeous|perfect|incredible|marvell?ous|magnificent"
         r"|stunning|moving|great|superb|splendid|delightful|fantastic|excellent|fabulous|sublime|haunting)")
_APPLAUDS = re.compile(
    r"^\W*(?:(?:oh|wow|ah|my|gosh)\W+)*(?:(?:that|this|it)(?:'s|\s+was|\s+is)\s+"
    r"(?:so\s+|really\s+|truly\s+|just\s+|absolutely\s+|quite\s+)*)?" + _FINE
    + r"(?:\W+(?:thank\s+you|thanks)|\W+(?:just\s+)?" + _FINE + r")*\W*$"
    r"|^\W*(?:bravo|well\s+(?:played|sung|told)|what\s+a\s+(?:lovely\s+|beautiful\s+|great\s+)?"
    r"(?:song|tune|story|voice|performance))\W*$",
    re.IGNORECASE,
)
# What something costs: "How much for a room?", "What would it cost to mend my sword?".
# Not "How much do you love me?" or "How much longer?".
_ASKS_PRICE = re.compile(
    r"\bhow\s+much\s+(?:is|are|was|for|does|would|will|to|'s|do\s+(?:i|we|you\s+(?:charge|want|ask|take)))\b"
    r"|\bhow\s+much\s*\?|\bwhat(?:'s|\s+is|\s+are)\s+(?:the|your)\s+(?:price|prices|cost|charge|rate|rates)\b"
    r"|\bwhat\s+(?:does|do|would|will|did)\s+(?:it|that|a|an|the|one|this|they|those|these)\b[^?.!]{0,40}?\bcost\b"
    r"|\bwhat\s+do\s+(?:i|we)\s+owe\b|\bwhat\s+do\s+you\s+(?:charge|want|ask)\s+for\b",
    re.IGNORECASE,
)
# A yes to what the NPC just offered ("Yes, I'll take it.", "Deal!"), at the start of the line,
# unless the line goes on to haggle or put it off ("Yes, but that's too much.").
_AGREES = re.compile(
    r"^\W*(?:(?:oh|well|ok(?:ay)?|alright|right|then)\W+)*"
    r"(?:yes|yeah|yep|yup|aye|sure|ok(?:ay)?|deal|done|fine|alright|all\s+right|agreed|perfect|please"
    r"|go\s+on\s+then|i'?ll\s+(?:take|have)\s+(?:it|that|one|the\s+\w+)|sounds\s+(?:good|fair|great|fine)"
    r"|that'?s\s+(?:fair|fine|good)|it'?s\s+a\s+deal|let'?s\s+do\s+it|why\s+not)\b",
    re.IGNORECASE,
)
_DECLINES = re.compile(
    r"\b(?:but|too\s+(?:much|expensive|dear|steep|pricey)|not\s+(?:now|today|yet)|no\s+thanks?|nah"
    r"|maybe\s+later|no|never\s+mind)\b",
    re.IGNORECASE,
)
# A no to what the NPC just offered ("No thanks.", "Not today.", "Maybe later."), at the start.
_NO_TO_OFFER = re.compile(
    r"^\W*(?:(?:oh|well|hm+|um+|ah|sorry)\W+)*(?:no|nah|nope|not\s+(?:today|now|yet|this\s+time)"
    r"|maybe\s+(?:later|another\s+time|not)|i'?ll\s+pass|pass|another\s+time|no\s+thank\s+you|no\s+thanks?"
    r"|i\s+(?:can't|cannot|won't|don't\s+think\s+so)|(?:i'd|i\s+would)\s+rather\s+not|i'm\s+(?:good|fine)(?=\W*$|,))\b",
    re.IGNORECASE,
)
# The whole line asks for the same again: a joke after a joke ("Ha! Another one!").
_MORE = re.compile(
    r"^\W*(?:(?:ha(?:ha)*|heh|oh|ok(?:ay)?|good\s+one|nice)\W+)*"
    r"(?:another(?:\s+one)?|one\s+more|more|again|encore|go\s+on)(?:\W+please)?\W*$",
    re.IGNORECASE,
)
_ASKS_SELF = re.compile(
    r"\b(?:about\s+(?:you|yourself)|tell\s+me\s+(?:something|a\s+bit|a\s+little)"
    r"|what\s+do\s+you\s+do|your\s+(?:job|work|trade|life|story|past|family|home|day)"
    r"|where\s+(?:are\s+you\s+from|do\s+you\s+live)|any\s+(?:news|gossip|rumou?rs)"
    r"|what's\s+new|anything\s+(?:new|interesting))\b",
    re.IGNORECASE,
)
# The player offers to work for the NPC ("Do you have any work for me?", "Can I help?"):
# a persona rule with `offer` lines proposes an errand. Not "I need a hand" (the player asks
# for help), nor "Can I help myself to some stew?".
_JOBS = r"(?:work|jobs?|odd\s+jobs?|tasks?|errands?|quests?|chores?)"
_ASKS_WORK = re.compile(
    rf"\b(?:(?:do|have|got)\s+(?:you\s+)?(?:got\s+|have\s+)?(?:any|some)\s+(?:more\s+|other\s+)?{_JOBS}"
    r"(?!\s+(?:to\s+show|done))"
    rf"|(?:any|some)\s+(?:more\s+|other\s+)?{_JOBS}\s+(?:for\s+me|i\s+(?:can|could|might)|going|around\s+here"
    r"|to\s+be\s+done)"
    rf"|^\W*(?:(?:any|some)\s+)?(?:more|other)\s+{_JOBS}\W*$|^\W*any\s+{_JOBS}\W*$"
    r"|(?:anything|something)\s+(?:(?:else\s+)?i\s+(?:can|could|might)\s+(?:do|help)|(?:you\s+)?needs?\s+doing"
    r"|that\s+needs\s+doing)"
    r"|(?:can|could|may|shall)\s+i\s+(?:help|be\s+of\s+(?:help|use|service)|lend\s+(?:you\s+)?a\s+hand"
    r"|do\s+anything)(?!\s+(?:myself|yourself|it\b|that\b))"
    r"|how\s+can\s+i\s+(?:help|be\s+of\s+(?:help|use|service))|what\s+can\s+i\s+do\s+for\s+you"
    r"|(?:(?:do\s+)?you\s+need|^\W*need)\s+(?:a\s+hand|any\s+help|some\s+help|help|an?\s+(?:extra\s+)?"
    r"(?:pair\s+of\s+hands|helper))"
    rf"|(?:i'm|i\s+am)\s+looking\s+for\s+(?:work|a\s+job|something\s+to\s+do|an?\s+{_JOBS})"
    r"|i\s+(?:need|want)\s+(?:some\s+)?(?:work|a\s+job)\b|put\s+me\s+to\s+work"
    rf"|give\s+me\s+(?:a|an|some)\s+{_JOBS})",
    re.IGNORECASE,
)
_ASKS_OPINION = re.compile(
    r"\b(?:what\s+do\s+you\s+(?:think|make)|your\s+(?:opinion|view|thoughts|take)"
    r"|how\s+do\s+you\s+feel|thoughts\s+on|do\s+you\s+(?:like|love|hate)|opinion)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|heya|hiya|howdy|greetings|salutations|ahoy|g'?day|good\s+(?:morning"
    r"|afternoon|evening|day|morrow)|top\s+of\s+the\s+morning|well\s+met|yo|hullo|hallo"
    # A bare time of day greets only as the whole line or before a name or a title ("Evening,
    # captain."): "Evening falls early here." is about the evening.
    r"|(?:morning|mornin'?|evening|evenin'?|afternoon)(?=\W*$|\s*[,!]|\s+(?:all|to\s+you)\b"
    r"|(?:\s+[\w'-]+){1,2}\W*$))(?!\w)",
    re.IGNORECASE,
)
_THANKS = re.compile(r"\b(?:thanks|thank\s+(?:you|ye)|cheers|much\s+obliged)\b", re.IGNORECASE)
_HOW = re.compile(
    r"\b(?:how\s+are\s+(?:you|things)|how\s+is\s+(?:it\s+going|business|work|life)"
    r"|how's\s+(?:it\s+going|things|business|life|work)|how\s+do\s+you\s+do"
    r"|how\s+have\s+you\s+been|you\s+(?:ok|okay|alright)\b)",
    re.IGNORECASE,
)
_SORRY = re.compile(
    r"\b(?:sorry|apologi[sz]e|apology|apologies|forgive\s+me|my\s+fault|my\s+bad|i\s+was\s+wrong"
    r"|i\s+regret|make\s+(?:it\s+)?up\s+to\s+you|make\s+amends)\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(?:please|could\s+you|can\s+you|would\s+you|will\s+you|help|favou?r|need\s+you\s+to|lend"
    r"|do\s+me\s+a|i\s+beg|begging|let\s+me\s+(?:pass|through|in|out|by|go))\b",
    re.IGNORECASE,
)
_FLIRT = re.compile(
    r"\b(?:beautiful|pretty|handsome|cute|gorgeous|lovely|charming|attractive|stunning|your\s+eyes"
    r"|your\s+smile|you\s+look|date|kiss|darling|sweetheart|crush|fancy\s+you|in\s+love|love\s+you"
    r"|adore|walk\s+with\s+me|drink\s+with\s+me|dinner\s+with\s+me|dance\s+with\s+me)\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\W*(?:what|who|why|where|when|how|which|do|does|did|is|are|can|could|would|will|have|has)\b",
    re.IGNORECASE,
)
_ADDRESSED = re.compile(
    r"\b(?:you|your|yours|you're|youre|ya|yourself|thanks|thank)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Reading:
    """What one player line says, as far as the rules can tell without a model."""

    tokens: tuple[str, ...]
    """The line's words for topic matching (`text.tokens`), with the verb of a like or dislike
    left out: "I love fishing" is about fishing, not about love."""
    name: str | None
    """A name the player gave themself ("I'm Ana", "call me Wren"), capitalised."""
    likes: tuple[tuple[str, str], ...]
    """(verb, object) in second person, e.g. ("love", "your dog")."""
    dislikes: tuple[tuple[str, str], ...]
    """(verb, object): verb is `hate`, `don't like` or `can't stand`."""
    goodbye: bool
    asks_name: bool
    """Asks the NPC for the player's own name ("What's my name?")."""
    asks_likes: bool
    """Asks what the player said they like ("What do I like?")."""
    asks_npc_name: bool
    asks_self: bool
    """Asks about the NPC: their work, life, news ("Tell me about yourself")."""
    asks_opinion: bool
    greeting: bool
    thanks: bool
    how: bool
    """Asks how the NPC is ("How are you?")."""
    sorry: bool
    """Apologises ("sorry", "forgive me", "my fault", "I was wrong")."""
    question: bool
    affection: bool
    """The player said they like/love the NPC ("I like you")."""
    addressed: bool
    """The line speaks to the NPC ("you", "your", or thanks)."""
    requests: bool = False
    """Asks the NPC for something ("please", "could you", "help", "a favour")."""
    flirts: bool = False
    """Compliments the NPC's looks or asks them out."""
    asks_only: bool = False
    """Every sentence is a question ("Could you tell me about your lovely garden?"): kind
    words in it are politeness, not a compliment to answer."""
    asks_memory: bool = False
    """Asks what the NPC remembers of the player ("Do you remember me?", "What did I promise?")."""
    asks_joke: bool = False
    """Asks the NPC for a joke, a riddle or something funny ("Tell me a joke.", "Make me laugh.")."""
    asks_price: bool = False
    """Asks what something costs ("How much for a room?"): a persona rule with a `quote`
    names its price instead of deciding the action."""
    declines: bool = False
    """Says no to what the NPC just offered ("No thanks.", "Not today.", "Maybe later.")."""
    applauds: bool = False
    """The whole line praises what the NPC just did ("That was beautiful.", "Bravo!")."""
    asks_work: bool = False
    """Offers to work for the NPC ("Do you have any work for me?", "Can I help with
    anything?"): a persona rule with `offer` lines proposes its errand."""
    agrees: bool = False
    """Says yes to what the NPC just offered ("Yes, I'll take it.", "Deal!"), without a "but"."""
    laughs: bool = False
    """Laughs or praises a joke ("Haha, good one!"); the NPC hears it so only after one."""
    unamused: bool = False
    """A joke fell flat ("That wasn't funny.", "Terrible joke."); wins over `laughs`."""
    more: bool = False
    """The whole line asks for the same again ("Another one!", "One more, please."): another
    joke when the NPC's last line was one."""
    tone: Tone = "neutral"
    """How the line treats the listener. Today VADER's friendly/rude/neutral (`sentiment.tone`),
    filled when `read` is given the line's sentiment; the stance-vs-valence reading
    (sidecar/engine/tone.py) takes this slot."""

    @property
    def intents(self) -> frozenset[str]:
        """The names of the flags that are set (for notes and logs)."""
        flags = {
            "goodbye": self.goodbye, "asks_name": self.asks_name, "asks_likes": self.asks_likes,
            "asks_npc_name": self.asks_npc_name, "asks_self": self.asks_self,
            "asks_opinion": self.asks_opinion, "greeting": self.greeting, "thanks": self.thanks,
            "how": self.how, "sorry": self.sorry, "question": self.question,
            "affection": self.affection, "addressed": self.addressed, "requests": self.requests,
            "flirts": self.flirts, "asks_only": self.asks_only, "asks_memory": self.asks_memory,
            "asks_joke": self.asks_joke, "more": self.more, "laughs": self.laughs,
            "unamused": self.unamused, "asks_price": self.asks_price, "agrees": self.agrees,
            "asks_work": self.asks_work, "applauds": self.applauds, "declines": self.declines,
        }
        return frozenset(k for k, v in flags.items() if v)


def _clean_object(raw: str) -> str | None:
    text = _OBJECT_STOP.sub("", raw.strip().lower())
    words = text_words(text)[:6]
    if not words or words[0] in _OBJECT_BAD_START:
        return None
    words = [_SWAP.get(w, w) for w in words]
    obj = " ".join(words)
    return obj if 1 <= len(obj) <= 60 else None


def _valid_name(raw: str, *, implicit: bool) -> str | None:
    if not 2 <= len(raw) <= 24 or raw.lower() in _NOT_NAMES:
        return None
    if implicit and not raw[0].isupper():
        return None
    return raw[0].upper() + raw[1:]


def read(text: str, sentiment: Sentiment | None = None) -> Reading:
    """Read one player line. Never raises for any str; only the first `MAX_PARSED_CHARS`
    characters are read. `sentiment` (VADER's, if the caller has it) fills `tone`."""
    lexical = _read(text)
    return replace(lexical, tone=tone(sentiment)) if sentiment is not None else lexical


@functools.lru_cache(maxsize=2048)
def _read(text: str) -> Reading:
    # The same line is read by the reply, the options and the goal rules of one turn.
    text = straight(text[:MAX_PARSED_CHARS])
    name = None
    for m in _NAME_EXPLICIT.finditer(text):
        name = _valid_name(m.group(1), implicit=False) or name
    if name is None:
        for m in _NAME_IMPLICIT.finditer(text):
            name = _valid_name(m.group(1), implicit=True) or name
            if name:
                break
    likes: list[tuple[str, str]] = []
    dislikes: list[tuple[str, str]] = []
    affection = False
    for m in _LIKE.finditer(text):
        verb = re.sub(r"\s+", " ", m.group(1).lower())
        raw = m.group(2)
        if re.match(r"\s*you\b", raw, re.IGNORECASE) and verb in _POSITIVE_VERBS:
            affection = True
        obj = _clean_object(raw)
        if obj is None:
            continue
        if verb in _POSITIVE_VERBS:
            likes.append((verb, obj))
        else:
            dislikes.append(("hate" if verb in {"hate", "detest", "loathe", "despise"}
                             else "don't like" if "like" in verb or "enjoy" in verb
                             else "can't stand", obj))
    for m in _LIKE_INTO.finditer(text):
        obj = _clean_object(m.group(1))
        if obj is not None:
            likes.append(("like", obj))
    goodbye = bool(_GOODBYE.search(text)) and not _NOT_GOODBYE.search(text)
    stripped = text.strip()
    unamused = bool(_UNAMUSED.search(text))
    # "I love fishing" is about fishing, not about love: the verb is no topic keyword.
    topical = _LIKE.sub(lambda m: " " + m.group(2), text) if likes or dislikes else text
    return Reading(
        tokens=tuple(tokens(topical)),
        name=name,
        likes=tuple(likes),
        dislikes=tuple(dislikes),
        goodbye=goodbye,
        asks_name=bool(_ASKS_NAME.search(text)),
        asks_likes=bool(_ASKS_LIKES.search(text)),
        asks_npc_name=bool(_ASKS_NPC_NAME.search(text)),
        asks_self=bool(_ASKS_SELF.search(text)),
        asks_opinion=bool(_ASKS_OPINION.search(text)),
        greeting=bool(_GREETING.search(text)),
        thanks=bool(_THANKS.search(text)),
        how=bool(_HOW.search(text)),
        sorry=bool(_SORRY.search(text)),
        question="?" in stripped or bool(_QUESTION_START.search(stripped)),
        affection=affection,
        addressed=bool(_ADDRESSED.search(text)),
        requests=bool(_REQUEST.search(text)),
        flirts=bool(_FLIRT.search(text)),
        asks_only=_asks_only(stripped),
        asks_memory=bool(_ASKS_MEMORY.search(text)),
        asks_joke=bool(_ASKS_JOKE.search(text)),
        more=bool(_MORE.match(stripped)),
        asks_price=bool(_ASKS_PRICE.search(text)),
        asks_work=bool(_ASKS_WORK.search(text)),
        applauds=bool(_APPLAUDS.match(stripped)),
        declines=bool(_NO_TO_OFFER.match(stripped)) and not _AGREES.match(stripped),
        agrees=bool(_AGREES.match(stripped)) and not _DECLINES.search(stripped),
        laughs=not unamused and bool(_LAUGHS.search(text)),
        unamused=unamused,
    )


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+")
_ASKING_START = re.compile(r"^\W*(?:tell|show|explain|describe|talk|go\s+on)\b", re.IGNORECASE)
"""An imperative that asks to be told ("Tell me more about your work, please.")."""


def _asks_only(text: str) -> bool:
    sentences = [s for s in _SENTENCE_END.split(text) if any(ch.isalnum() for ch in s)]
    return bool(sentences) and all(
        s.rstrip().endswith("?") or bool(_QUESTION_START.search(s) or _ASKING_START.search(s))
        for s in sentences
    )


__all__ = ["MAX_PARSED_CHARS", "Reading", "read"]
