"""What the owner tells about their dog: age class, sex, breed group or mix, and the place of the behaviour.

Read from the description and the context with word lists and a few number patterns (German and
English); a fact is only set when the text says it, so templates never assume what is unknown. German
"er" is not taken as male: owners say "er" for "der Hund" whatever its sex.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.knowledge import phrases
from server.knowledge.types import BreedGroup

AGE_WORDS: Mapping[str, tuple[str, ...]] = {
    "puppy": ("welpe", "welpen", "welpchen", "welpi", "puppy", "pup", "puppies"),
    "adolescent": (
        "junghund",
        "junghündin",
        "pubertät",
        "pubertier",
        "flegelphase",
        "teenager",
        "adolescent",
        "adolescence",
        "teenage",
        "halbstark",
    ),
    "senior": ("senior", "seniorin", "hundeopa", "hundeoma", "oldie", "betagt", "elderly", "old boy", "old girl"),
}
# The owner's own dog: a possessive or a copula before the word ("unser Rüde", "sie ist eine Hündin", "my
# girl"); a bare "die Hündin von nebenan" is another dog. English pronouns count only in English texts
# (German "her" means "hither": "Komm her!").
OWN_SEX: Mapping[str, re.Pattern[str]] = {
    "female": re.compile(
        r"\b(meine|unsere)( \S+){0,3} (hündin|huendin)\b|\b(ist|bin) (eine |ne )?hündin|\b(my|our)( \S+){0,3} "
        r"(girl|female|bitch)\b"
    ),
    "male": re.compile(
        r"\b(mein|unser)( \S+){0,3} (rüde|ruede)\b|\b(ist|bin) (ein )?rüde|\b(my|our)( \S+){0,3} (boy|male)\b"
    ),
}
PRONOUN_SEX: Mapping[str, re.Pattern[str]] = {
    "female": re.compile(r"\b(she|she's|her|herself)\b"),
    "male": re.compile(r"\b(he|he's|him|his|himself)\b"),
}
PLACE_WORDS: Mapping[str, tuple[str, ...]] = {
    "garden": ("garten", "gartenzaun", "zaun", "grundstück", "hof", "garden", "yard", "backyard", "fence"),
    "flat": ("wohnung", "mietwohnung", "treppenhaus", "balkon", "flat", "apartment", "condo", "stairwell"),
    "car": ("auto", "autofahrt", "kofferraum", "car", "drive", "trunk"),
    "walk": ("spaziergang", "spazieren", "gassi", "gassirunde", "leine", "wald", "feld", "park", "walk", "walks"),
    "house": ("haus", "einfamilienhaus", "house"),
}
MIX_WORDS = re.compile(
    r"(mischling|mix\b|[a-zäöü]+-?mix|mixed|cross\b|crossbreed|[a-z]+doodle|doodle|straßenhund|tierschutzhund"
    r"|promenadenmischung|mutt|mongrel)"
)
_AGE_NUMBER = re.compile(
    r"(\d{1,2}(?:[.,]5)?)\s*-?\s*(wochen|woche|weeks?|wks?|monate|monat|months?|mo|jahre|jahr|jährig\w*|j\.|years?|yrs?|y/o|yo)\b"
)
_NUMBER_WORDS = {
    "ein": 1,
    "eins": 1,
    "one": 1,
    "zwei": 2,
    "two": 2,
    "drei": 3,
    "three": 3,
    "vier": 4,
    "four": 4,
    "fünf": 5,
    "five": 5,
    "sechs": 6,
    "six": 6,
    "sieben": 7,
    "seven": 7,
    "acht": 8,
    "eight": 8,
    "neun": 9,
    "nine": 9,
    "zehn": 10,
    "ten": 10,
    "elf": 11,
    "eleven": 11,
    "zwölf": 12,
    "twelve": 12,
    "dreizehn": 13,
    "thirteen": 13,
    "vierzehn": 14,
    "fourteen": 14,
    "fünfzehn": 15,
    "fifteen": 15,
}
_AGE_WORD_NUMBER = re.compile(
    r"\b("
    + "|".join(_NUMBER_WORDS)
    + r")\s*-?\s*(wochen|woche|weeks?|monate|monat|months?|jahre|jahr|jährig\w*|years?)\b"
)
_WORD = re.compile(r"[a-zäöüß]+")
PAST_AGE = re.compile(
    r"(seit|als|since|when) (er|sie|es|he|she|it) (noch )?(ein |eine |a )?(kleiner |little )?(welpe|puppy|pup|junghund)"
    r"( war| was)?"
)
DURATION_WORDS = frozenset(
    {"seit", "since", "for", "vor", "für", "alle", "every", "in", "nach", "after", "letzten", "past"}
)


@dataclass(frozen=True)
class Profile:
    """The dog as far as the owner described it; None where the text says nothing."""

    age: str | None = None
    sex: str | None = None
    breed_group: str | None = None
    mix: bool = False
    place: str | None = None

    def facts(self) -> dict[str, str]:
        """The known facts for variant conditions: age, sex, place."""
        return {k: v for k, v in (("age", self.age), ("sex", self.sex), ("place", self.place)) if v}

    def as_context(self) -> dict[str, object]:
        return {"age": self.age, "sex": self.sex, "breed_group": self.breed_group, "mix": self.mix, "place": self.place}

    @classmethod
    def from_context(cls, data: Mapping[str, object] | None) -> Profile:
        data = data or {}

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value else None

        return cls(text("age"), text("sex"), text("breed_group"), bool(data.get("mix")), text("place"))


def _age_from_number(amount: float, unit: str) -> str:
    if unit.startswith(("woche", "week", "wk")):
        return "puppy" if amount <= 26 else "adolescent"
    if unit.startswith(("monat", "month", "mo")):
        return "puppy" if amount < 6 else "adolescent" if amount < 24 else "adult"
    return "puppy" if amount < 0.5 else "adolescent" if amount < 2 else "adult" if amount < 8 else "senior"


def _is_age(lowered: str, match: re.Match[str]) -> bool:
    """ "seit 2 Jahren", "for two weeks", "vor 3 Monaten" are durations, not the dog's age."""
    before = _WORD.findall(lowered[: match.start()])[-1:]
    return not before or before[0] not in DURATION_WORDS


def age_class(text: str) -> str | None:
    lowered = text.lower()
    for found in _AGE_NUMBER.finditer(lowered):
        if _is_age(lowered, found):
            return _age_from_number(float(found.group(1).replace(",", ".")), found.group(2))
    for spelled in _AGE_WORD_NUMBER.finditer(lowered):
        if _is_age(lowered, spelled):
            return _age_from_number(_NUMBER_WORDS[spelled.group(1)], spelled.group(2))
    # "seit er ein Welpe war", "since she was a puppy": the past, not the dog's age now
    lowered = PAST_AGE.sub(" ", lowered)
    words = set(_WORD.findall(lowered))
    for age, cues in AGE_WORDS.items():
        if any((" " in cue and cue in lowered) or cue in words for cue in cues):
            return age
    if re.search(r"\b(alt(er|e|en)? (hund|rüde|hündin|herr|dame)|old dog|older dog|getting old|grey muzzle)", lowered):
        return "senior"
    return None


def _first(words: set[str], table: Mapping[str, tuple[str, ...]]) -> str | None:
    for value, cues in table.items():
        if any(cue in words for cue in cues):
            return value
    return None


def sex(text: str, language: str) -> str | None:
    """The owner's dog's sex, when the text says it of that dog (not of a dog it meets)."""
    lowered = text.lower()
    found = [value for value, pattern in OWN_SEX.items() if pattern.search(lowered)]
    if not found and language == "en":
        found = [value for value, pattern in PRONOUN_SEX.items() if pattern.search(lowered)]
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=8)
def _aliases(key: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[re.Pattern[str] | None, dict[str, int]]:
    """The aliases of the groups `key` describes ((id, aliases) in order) as one trie pattern, and the
    first group (by position) that lists each alias."""
    owner: dict[str, int] = {}
    for index, (_, aliases) in enumerate(key):
        for alias in aliases:
            owner.setdefault(alias, index)
    return phrases.at_every_start(owner), owner


def find_breed(text: str, groups: Iterable[BreedGroup]) -> BreedGroup | None:
    """The breed group whose alias (whole word or phrase) appears in `text`, the longest alias winning
    (of two as long, the earlier group's)."""
    listed = tuple(groups)
    pattern, owner = _aliases(tuple((g.id, g.aliases) for g in listed))
    if pattern is None:
        return None
    found = [(-len(m.group(1)), owner[m.group(1)]) for m in pattern.finditer(text.lower())]
    return listed[min(found)[1]] if found else None


def extract(text: str, groups: Iterable[BreedGroup], *, known: Profile | None = None, language: str = "de") -> Profile:
    """The profile `text` describes, on top of what was `known` from earlier turns.

    New age, breed and place facts win; the sex, once known, stays (a later "die Hündin von nebenan" or
    "she" about another dog must not flip it).
    """
    known = known or Profile()
    lowered = text.lower()
    words = set(_WORD.findall(lowered)) | set(re.findall(r"[a-z']+", lowered))
    breed = find_breed(text, groups)
    return Profile(
        age=age_class(text) or known.age,
        sex=known.sex or sex(text, language),
        breed_group=breed.id if breed is not None else known.breed_group,
        mix=bool(MIX_WORDS.search(lowered)) or known.mix,
        place=_first(words, PLACE_WORDS) or known.place,
    )
