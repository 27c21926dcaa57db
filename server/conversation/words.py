"""Yes, no, unsure and restart in an owner's short answer: a small classifier over normalized words.

Words are matched whole ("Jagd" is not "ja") after normalization: lower case, umlauts spelled out
(nö = noe = no), any letter stretched ("jaaa", "neeein", "yesss" match "ja", "nein", "yes"). German with
Swiss, Austrian and Bavarian forms, English, and emoji. "ne" and "na" mean no only where they open the
answer ("ne, lass mal"), since "ne" is also colloquial for "eine" ("ja, zeig mir ne Übung") and "na" opens
"na klar" (yes) and "na ja" (unsure). A phrase that negates ("lieber nicht", "not really") beats a yes
word in the same answer; a phrase that only looks negative ("warum nicht", "kein Problem") is a yes.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

from server.knowledge.triage import is_insult


class Intent(Enum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"
    RESTART = "restart"
    OTHER = "other"


UNSURE = """
jein | vielleicht | keine ahnung | weiß nicht | weiss nicht | weiß ich nicht | weiss ich nicht | woaß ned |
i woas ned | weiß ned | kA | k a | hm | hmm | mal sehen | mal schauen | na ja | naja | nun ja | kommt drauf an |
eventuell | evtl | möglicherweise | unsicher | bin mir nicht sicher | nicht sicher | bin unsicher | schwer zu sagen |
mag sein | kann sein | ich überlege | muss überlegen | maybe | perhaps | not sure | unsure | i don't know |
i dont know | idk | dunno | kind of | kinda | sort of | no idea | hard to say | i guess | possibly |
who knows | we'll see | not sure yet | either way | whatever
"""
YES_DESPITE_NEGATION = """
warum nicht | wieso nicht | weshalb nicht | why not | nichts dagegen | kein problem | no problem |
nicht schlecht | na klar | na logo | na sicher | na gut | na gern | na freilich | no worries | i don't mind |
i wouldn't mind | sure why not | doch | ja doch | allerdings
"""
NO = """
definitely not | absolutely not | certainly not | of course not | sicher nicht | bestimmt nicht |
natürlich nicht | gar nicht | überhaupt nicht | garantiert nicht | auf gar keinen fall | nein | nee | nö |
nöh | nope | no | nah | nay | nei | nöd | nä | ne ne | nee nee | noe | nein danke |
lieber nicht | eher nicht | nicht nötig | nicht noetig | kein bedarf | kein interesse | danke nein |
no thanks | no thank you | not now | not really | nicht wirklich | auf keinen fall | keinesfalls |
niemals | never | nicht jetzt | jetzt nicht | brauch ich nicht | brauche ich nicht | will ich nicht |
möchte ich nicht | lass mal | lass gut sein | passt scho | passt schon danke | nicht mehr | no way |
nicht nötig danke | negativ | ned | net | i'm good | im good | all good thanks | rather not | i'd rather not |
not at the moment | not today | no need | don't need | dont need | skip | überspringen | das wars |
das war's | das wars schon | das reicht | reicht | genug | that's all | thats all | that's it | thats it |
nothing else | nichts mehr | sonst nichts | fertig | done | no more
"""
YES = """
ja | jo | joa | jup | jap | jep | jepp | jawohl | jawoll | jaja | klar | klaro | logo | freilich | gerne |
gern | genau | sicher | sicher doch | auf jeden fall | natürlich | selbstverständlich | unbedingt | passt |
gell | okay | ok | oki | okey | k | kk | alles klar | bitte | ja bitte | her damit | sehr gern | gern doch |
gerne doch | definitiv | absolut | richtig | stimmt | korrekt | das stimmt | exakt | super | prima |
toll | cool | geil | yo | jo mei | yes | yeah | yea | yep | yup | ya | yah | sure | of course | please |
definitely | absolutely | certainly | go on | go ahead | go for it | sounds good | alright | all right |
right | correct | exactly | indeed | affirmative | totally | for sure | you bet | that's right |
thats right | true | spot on | bingo | oui | si | let's go | lets go | why not | great | perfect | nice
"""
RESTART = "neu | neustart | neu starten | restart | von vorne | von vorn | reset | start over | new start"
LEADING_NO = ("ne", "na", "naa", "naaa", "nee")
NOT_NO_AFTER_NA = frozenset({"klar", "logo", "sicher", "gut", "gern", "gerne", "freilich", "ja", "und", "dann"})

YES_EMOJI = "👍✅👌🙂😊😀😃😄😁🥰😍❤💪🙏🙌👏☺✔💯🤩😺🐶🐕"
NO_EMOJI = "👎❌🙅🚫⛔✖🛑😒🙄"
UNSURE_EMOJI = "🤷🤔😕😐🫤"

QUESTION_OPENERS = frozenset(
    [
        "soll",
        "sollte",
        "sollen",
        "kann",
        "können",
        "könnte",
        "muss",
        "müssen",
        "darf",
        "dürfen",
        "wie",
        "was",
        "warum",
        "wieso",
        "weshalb",
        "wann",
        "wo",
        "wer",
        "welche",
        "welcher",
        "welches",
        "gibt",
        "ist",
        "sind",
        "hat",
        "habt",
        "should",
        "can",
        "could",
        "must",
        "may",
        "how",
        "what",
        "why",
        "when",
        "where",
        "who",
        "which",
        "is",
        "are",
        "does",
        "do",
        "did",
        "will",
        "would",
    ]
)
SHORT_ANSWER_WORDS = 4  # up to here, a yes word anywhere counts ("ich würde sagen ja")
MAX_ANSWER_WORDS = 8  # beyond this, only the opening counts ("Nein, er bellt eher an der Tür, wenn ...")
CORRECTION_WORDS = 6  # a longer answer that goes on to describe the dog is a correction
OPENING_WORDS = 3  # how far into a long text a no or unsure still counts
YES_OPENING_WORDS = 2  # how far into a longer text a yes still counts ("okay cool, zeig mal")


def _canonical(text: str) -> str:
    """Lower case, umlauts and their spellings (nö, noe) as the plain vowel (no), ß as ss, one apostrophe."""
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'").replace("`", "'")
    text = text.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return text.replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")


def _letters(word: str) -> str:
    """A regex for `word` with every letter run stretchable ("ja" -> "j+a+", "nee" -> "n+e{2,}")."""
    parts = []
    for match in re.finditer(r"(.)\1*", word):
        letter, run = re.escape(match.group(1)), len(match.group(0))
        parts.append(f"{letter}+" if run == 1 else f"{letter}{{{run},}}")
    return "".join(parts)


def _phrases(block: str) -> re.Pattern[str]:
    words = sorted({_canonical(w.strip()) for w in block.split("|") if w.strip()}, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(_letters(part) for part in w.split()) for w in words)
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])")


_UNSURE, _YES_DESPITE, _NO, _YES, _RESTART = (_phrases(b) for b in (UNSURE, YES_DESPITE_NEGATION, NO, YES, RESTART))
_WORD = re.compile(r"[\w']+")
# What a correction says: the dog does something (German and English behaviour verbs, canonical spelling).
DESCRIBES = re.compile(
    r"\b(bell|kläff|klaff|knurr|winsel|jaul|fiep|heul|beis|biss|schnapp|zwick|jag|hetz|grab|buddel|markier|pinkel"
    r"|spring|sprang|zieht|zerr|frisst|friss|klau|bettel|zerstor|zerkau|kackt|leckt|rennt|haut ab|streun"
    r"|bark|growl|whin|howl|bite|bites|biting|snap|nip|chase|chasing|dig|mark|pee|jump|pull|steal|chew|lick|run)"
)
_LEADING_NO = re.compile(r"^\s*(" + "|".join(_letters(w) for w in LEADING_NO) + r")(?![\w'])(.*)$", re.DOTALL)


def normalize(text: str) -> str:
    """NFC, lower case, single spaces (kept for callers that compare whole texts)."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def words(text: str) -> list[str]:
    return _WORD.findall(_canonical(text))


def is_restart(text: str) -> bool:
    """True when the whole message is a restart command ("neu", "Neustart bitte!", "start over")."""
    rest = _RESTART.sub(" ", _canonical(text))
    return rest != _canonical(text) and not [w for w in _WORD.findall(rest) if w not in ("bitte", "please", "nochmal")]


def _leading_no(canonical: str) -> bool:
    """ "ne"/"na" opening the answer, alone or before a pause, or before words that are no yes."""
    match = _LEADING_NO.match(canonical)
    if match is None:
        return False
    rest = match.group(2)
    following = _WORD.findall(rest)
    if not following or rest.lstrip()[:1] in ",.!;-":
        return True
    return following[0] not in NOT_NO_AFTER_NA and not _YES.search(rest)


def _emoji(text: str) -> Intent | None:
    for intent, chars in ((Intent.NO, NO_EMOJI), (Intent.UNSURE, UNSURE_EMOJI), (Intent.YES, YES_EMOJI)):
        if any(c in text for c in chars):
            return intent
    return None


def is_question(text: str) -> bool:
    """A direct question: it ends with "?" or opens with a question word."""
    found = words(text)
    return text.rstrip().endswith("?") or (bool(found) and found[0] in QUESTION_OPENERS and len(found) > 2)


def intent(text: str) -> Intent:
    """The intent of an answer to a yes/no question.

    A restart command wins; then unsure ("jein", "keine Ahnung"); then yes-looking negations
    ("warum nicht"); then no (a negating phrase anywhere, or a leading "ne"/"na"); then yes; then emoji.
    A long text or a question without any of these is OTHER (a new description, a question, chatter).
    """
    if is_restart(text):
        return Intent.RESTART
    canonical = _canonical(text)
    found = _WORD.findall(canonical)
    # An insult, or "Nee warte, er knurrt nur beim Fressen" (a correction), is no plain answer.
    if is_insult(text) or (len(found) > CORRECTION_WORDS and DESCRIBES.search(" ".join(found[1:]))):
        return Intent.OTHER
    return _answer(text, canonical, found)


def _answer(text: str, canonical: str, found: list[str]) -> Intent:
    opening = " ".join(found[:OPENING_WORDS])
    if len(found) > MAX_ANSWER_WORDS:
        canonical = opening  # a long text is an answer only when it opens with one
    if _UNSURE.search(canonical) and not _YES_DESPITE.search(canonical):
        return Intent.UNSURE
    if _YES_DESPITE.search(canonical):
        return Intent.YES
    if _NO.search(canonical) or _leading_no(canonical):
        return Intent.NO
    # "er zieht gern an der Leine" is a description: past a short answer, yes must open the text.
    if _YES.search(canonical if len(found) <= SHORT_ANSWER_WORDS else " ".join(found[:YES_OPENING_WORDS])):
        return Intent.YES
    return _emoji(text) or Intent.OTHER
