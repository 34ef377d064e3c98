"""English words the matcher treats as carrying no topic (language data, not clinic content)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

_WORD_LIST = Path(__file__).resolve().parent.parent / "data" / "english_words.txt"

# Function words and conversational filler ("hi, quick question: ..."). Removed before
# scoring so they neither earn nor cost points. Small-talk words (hi, thanks, bye) are NOT
# here: they are how the greeting/thanks/goodbye intents are recognised. Neither are words
# that change the topic of a question: who, how, when, where, why, not, before, after, many.
_FILLER = """
    a an the and or but if so as at by for from in into of off on onto out over to up with
    about above again against below between through under until upon
    i me my mine myself we us our ours you your yours yourself he him his she her hers it its
    they them their this that these those there here which what
    is am are was were be been being do does did done doing have has had having
    will would shall should can could may might must ought
    nor only own same too very just also even still really actually basically quite
    some any all each every both either neither such other another more most much few
    than then once ever yet already
    im ive id ill youre youve youll youd hes shes its were theyre theyve weve isnt arent
    wasnt werent dont doesnt didnt cant couldnt wouldnt shouldnt wont havent hasnt hadnt
    s t d ll ve re m
    quick question questions query ask asking asked wondering wonder curious
    tell know let please pls plz kindly want wanted wanna like love
    um umm uh hmm ok okay oh well anyway btw lol haha
    get got getting go going gonna thing things something anything
"""
STOPWORDS = frozenset(_FILLER.split())

# Chat shorthand, expanded before anything else, in the examples as in the questions: an
# example that says "u" and a question that says "you" then share the word. (Too short for
# fuzzy matching to guess, too.)
SHORTHAND: dict[str, str] = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "y": "why",
    "hw": "how",
    "wat": "what",
    "wht": "what",
    "wen": "when",
    "wer": "where",
    "n": "and",
    "b4": "before",
    "abt": "about",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "thx": "thanks",
    "thnx": "thanks",
    "ty": "thank you",
    "tysm": "thank you so much",
    "tks": "thanks",
    "appt": "appointment",
    "appts": "appointments",
    "info": "information",
    "gtg": "got to go",
    "g2g": "got to go",
    "cya": "see you",
    "ya": "you",
    "2day": "today",
    "2moro": "tomorrow",
    "tmrw": "tomorrow",
    "msg": "message",
    "pic": "picture",
    "ppl": "people",
    "gud": "good",
    "gd": "good",
    "nite": "night",
}
# Shorthand that is also a word of its own ("an Instagram post", "vitamin c"): expanded only
# when the content never uses it.
SHORTHAND_OR_WORD: dict[str, str] = {
    "c": "see",
    "pre": "before",
    "post": "after",
}


@lru_cache(maxsize=1)
def english_word_ranks() -> Mapping[str, int]:
    """Frequency rank (0 = most common) of common English words, read once."""
    with _WORD_LIST.open(encoding="utf-8") as lines:
        words = (line.strip() for line in lines if not line.startswith("#"))
        return {word: rank for rank, word in enumerate(word for word in words if word)}
