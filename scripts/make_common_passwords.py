"""Generate data/common-passwords.txt: guessable passwords of 8+ characters, built from patterns.

The list is made here, from patterns that every cracking dictionary starts with (keyboard walks,
names and words with years or digits, repeated and sequential characters, German and English),
so it carries no third-party licence. Run `python scripts/make_common_passwords.py` to rewrite the
file; a test checks that the committed file is exactly this script's output. Entries are lower-case
(the policy compares case-insensitively), one per line, sorted, 8 to 128 characters.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt"
MIN_LENGTH = 8


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Rows of the German (QWERTZ) and English (QWERTY) keyboards, and the digit row.
KEYBOARD_ROWS = (
    "1234567890ß",
    "qwertzuiopü",
    "asdfghjklöä",
    "yxcvbnm",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1234567890",
)
KEYBOARD_COLUMNS = ("1qaz2wsx3edc4rfv5tgb6zhn7ujm", "1qay2wsx3edc4rfv5tgb6zhn7ujm", "1q2w3e4r5t6z7u8i9o0p")

WORDS = _split(
    """
passwort password kennwort geheim secret hallo
hello willkommen welcome sommer summer winter fruehling frühling herbst autumn sonne sunshine mond
moon sterne stars liebe love iloveyou ichliebedich schatz schatzi maus mausi baby babygirl hase hasi
engel angel teufel devil prinzessin princess prinz prince koenig könig king queen drache dragon
tiger loewe löwe lion adler eagle falke falcon hund hunde doggy dog hundi katze kitty cat pferd
horse fussball fußball football soccer basketball baseball hockey tennis golf bayern borussia
schalke hertha werder eintracht hamburg berlin muenchen münchen koeln köln frankfurt stuttgart
dresden leipzig germany deutschland austria oesterreich schweiz england london america freedom
freiheit master meister admin administrator root login letmein trustno1 access zugang computer
internet laptop samsung iphone android google facebook instagram youtube twitter microsoft windows
apple banana banane orange erdbeere strawberry schokolade chocolate cookie kuchen pizza pasta bier
beer whisky vodka party musik music gitarre guitar rock metal hiphop techno starwars pokemon
minecraft fortnite superman batman spiderman ironman hulk naruto matrix harley porsche ferrari
mercedes bmwbmw audi volkswagen golfgti shadow monkey affe jordan michael mustang charlie thomas
daniel andreas stefan christian qwertz qwerty abc abcd abcdef azerty zaq xsw qaz flower blume rose
tulpe daisy garden garten himmel heaven hoelle hell familie family freunde friends freund friend
mutter mother vater father bruder brother schwester sister oma opa kinder children zukunft future
test tester testing default standard changeme aendern ändern pass passw0rd pa55word welcome1
benutzer user guest gast wuffchat wuffwuff bello waldi rex struppi lassie snoopy bruno buddy max
"""
)

# Common first names (German and English), used alone and with years or digits.
NAMES = _split(
    """
alexander andreas anna annika anja antonia ben benjamin bernd birgit carina carsten
charlotte christina christine claudia daniela david dennis dieter dirk doris elena elias emil emilia
emily emma erik eva fabian felix finn florian frank franziska gabriele georg gerhard hannah hans
heike helga helmut jan jana jennifer jessica jonas julia julian justin kai karin katharina kevin
klaus laura lea lena leon leonie lisa lukas luca luisa manfred marcel marco maria marie mario markus
martin martina matthias maximilian melanie michaela mia moritz nadine nicole niklas nina noah oliver
patrick paul peter petra philipp ralf robert sabine sandra sara sarah sebastian simon sofia sophie
stefanie susanne sven tanja thorsten tim tobias torsten ute uwe vanessa werner wolfgang yvonne james
john robert william richard joseph david chris christopher matthew anthony mark donald steven andrew
joshua kenneth kevin brian george edward ronald timothy jason jeffrey ryan jacob gary nicholas eric
jonathan stephen larry justin scott brandon frank raymond gregory mary patricia linda barbara
elizabeth susan jessica sarah karen nancy lisa betty margaret ashley kimberly emily donna michelle
dorothy carol amanda melissa deborah stephanie rebecca sharon kathleen amy angela shirley brenda
nicole samantha katherine christine debra rachel carolyn janet catherine maria heather diane olivia
sophia isabella ava mila chloe lily zoe
"""
)

DIGIT_SUFFIXES = (
    "1", "12", "123", "1234", "12345", "123456", "1!", "!", "!!", "01", "007", "69", "77", "88",
    "99", "11", "22", "13", "666", "321", "111", "000", "2000", "1990", "2010", "2020", "2024", "2025",
)  # fmt: skip
YEARS = tuple(str(year) for year in range(1950, 2031))
SHORT_YEARS = tuple(f"{year % 100:02d}" for year in range(1950, 2031))
LEET = str.maketrans({"a": "@", "o": "0", "e": "3", "i": "1", "s": "$"})


def keyboard_walks() -> Iterator[str]:
    """Every run of 8+ keys along a keyboard row or column, forwards and backwards, single and doubled."""
    for row in (*KEYBOARD_ROWS, *KEYBOARD_COLUMNS):
        for start in range(len(row)):
            for end in range(start + 4, len(row) + 1):
                run = row[start:end]
                yield run
                yield run[::-1]
                yield run + run
                yield run + "!"


def repeated_and_sequences() -> Iterator[str]:
    """aaaaaaaa, 11111111, 12121212, abcabcabc, 123456789, 987654321, ... (8 to 16 long)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789!.#*+-"
    for char in alphabet:
        for length in range(MIN_LENGTH, 17):
            yield char * length
    for first, second in itertools.permutations("0123456789abcxyz", 2):
        for repeats in (4, 5, 6):
            yield (first + second) * repeats
    digits = "01234567890123456789"
    for start in range(10):
        for length in range(MIN_LENGTH, 13):
            run = digits[start : start + length]
            yield run
            yield run[::-1]
    letters = "abcdefghijklmnopqrstuvwxyz"
    for start in range(len(letters) - MIN_LENGTH + 1):
        yield letters[start : start + MIN_LENGTH]


def with_suffixes(stems: Iterable[str]) -> Iterator[str]:
    """stem, l33t stem, stem + digits/year, digits + stem (years only as suffix, as people write them)."""
    for stem in stems:
        yield stem
        yield stem.translate(LEET)
        for suffix in (*DIGIT_SUFFIXES, *YEARS, *SHORT_YEARS):
            yield stem + suffix
        for prefix in DIGIT_SUFFIXES:
            yield prefix + stem


def generate() -> list[str]:
    """All candidates of 8 to 128 characters, lower-case, de-duplicated, sorted."""
    words = sorted(set(WORDS))
    names = sorted(set(NAMES))
    candidates: set[str] = set()
    sources: Iterable[str] = itertools.chain(
        keyboard_walks(),
        repeated_and_sequences(),
        with_suffixes(words),
        with_suffixes(names),
        (a + b for a, b in itertools.product(words[:80], words[:80]) if a != b),
    )
    for candidate in sources:
        lowered = candidate.lower()
        if MIN_LENGTH <= len(lowered) <= 128:
            candidates.add(lowered)
    return sorted(candidates)


def render() -> str:
    return "".join(f"{entry}\n" for entry in generate())


def main() -> int:
    text = render()
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} entries to {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
