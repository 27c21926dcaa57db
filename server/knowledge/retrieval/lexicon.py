"""The words BM25 can know: owners' spelling brought to the knowledge base's words before stemming.

Owners write compounds the base spells apart ("ballverrückt", "Krallenschneiden"), make typos
("stubenrien", "jumsp") and write dialect ("Hündli", "Chind", "koa"). A `Lexicon` is built from the
texts BM25 indexes (one per language) and, for a query word the base does not know, tries in order:
a dialect form's standard word (German only), a split into known words (German compounds, with the
linking letters -s-, -n-, -en-, -e-, -es-, -er-), and a known word one typo away (a letter missing,
extra, wrong or two swapped; words of at least five letters). Documents get their own compounds
split the same way, so "Leinenaggression" in the base meets "Aggression an der Leine" in a query.
Both retrieval backends use it, so their BM25 tokens stay the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

from server.knowledge.topic import DOG_NAMES

WORD = re.compile(r"[a-zäöüß]+")
MIN_PART = 3  # the shortest word a compound may be split into ("Tür", "Kau")
MIN_COMPOUND = 7  # shorter words are not split
MIN_TYPO = 5  # shorter words are too easily one typo from another word
LINKS = ("", "s", "n", "en", "e", "es", "er")  # Fugenelemente between the parts of a German compound

# Swiss, Austrian and Bavarian forms owners write, and colloquial short forms, mapped to the standard word.
_DIALECT = """
hündli=hund hündle=hund hunderl=hund hunderle=hund hundl=hund hundili=hund wauwi=hund
chind=kinder chinde=kinder chindli=kind kinda=kinder kindl=kind buebe=jungen bua=junge buam=jungen
lüüt=leute lüt=leute leit=leute mensche=menschen
chatz=katze chatze=katzen katz=katze katzl=katze katzerl=katze büsi=katze busle=katze mieze=katze
isch=ist is=ist hod=hat hät=hat het=hat nöd=nicht nüd=nicht ned=nicht net=nicht nit=nicht nöt=nicht
koa=kein koan=keinen koana=keiner kei=kein kä=kein nix=nichts nüt=nichts nünt=nichts
oiwei=immer allaweil=immer alleweil=immer ämmer=immer immr=immer
gumpet=springt gumpt=springt gumpe=springen ghüpft=gehüpft hupft=hüpft
bisst=beißt biisst=beißt beisst=beißt bisse=gebissen bissn=gebissen
bellet=bellt bäue=bellen bället=bellt kläfft=kläfft knurret=knurrt knurrt=knurrt
rüeft=ruft rüefe=rufen rüaf=ruf chunt=kommt chunnt=kommt kimmt=kommt kummt=kommt goht=geht gaht=geht
seckle=rennen secklet=rennt springe=springen
schleckt=leckt schlecke=lecken biselt=pinkelt bieselt=pinkelt brunzt=pinkelt bislet=pinkelt
gackerl=kot gaggi=kot gagg=kot lulu=pipi bisi=pipi
dahoam=zuhause hoam=heim deheim=zuhause dihei=zuhause
huus=haus hüsli=haus garte=garten tüür=tür türe=tür stiege=treppe
velo=fahrrad radl=fahrrad trottoir=gehweg
guetzli=leckerli leckerl=leckerli
nochber=nachbar nochbere=nachbarn nachbere=nachbarn pöschtler=postbote poschtbote=postbote
wadl=wade hax=bein haxn=bein
wia=wie ois=alles eini=hinein aussi=hinaus auffi=hinauf obi=hinunter umi=hinüber
deppat=verrückt deppert=verrückt aufdraht=aufgedreht gschwind=schnell nimma=nicht nimmer=nicht nia=nie
scho=schon grad=gerade bissl=bisschen bisserl=bisschen hoit=halt mei=mein dei=dein oiso=also gscheit=richtig
öppis=etwas öpper=jemand niemer=niemand gäge=gegen bsunders=besonders alli=alle chli=klein lueg=schau
nöch=nah znöch=nah
nocht=nacht nochts=nachts znacht=nachts ruaf=ruf ruef=ruf rüef=ruf chnurrt=knurrt maa=mann
liit=liegt lit=liegt wott=will wött=will ligt=liegt elei=allein eleini=allein blibe=bleiben bliibe=bleiben
chratzt=kratzt chratze=kratzen spuizeig=spielzeug spuizeug=spielzeug spielzeig=spielzeug klettn=klette
lauft=läuft laaft=läuft rennd=rennt hopst=hüpft hopsen=hüpfen suhlt=wälzt gesuhlt=gewälzt zitteret=zittert
chlöpfer=böller chlöpf=knall
"""
DIALECT = dict(pair.split("=") for pair in _DIALECT.split())
# Separable verb particles ("er springt jeden an") and what ends a clause for them.
PARTICLES = frozenset(
    [
        *("an", "ab", "auf", "aus", "bei", "ein", "mit", "nach", "vor", "weg", "zu", "zurück", "los", "hoch"),
        *("runter", "rauf", "raus", "rein", "rum", "herum", "her", "hin", "durch", "um", "fest"),
    ]
)
CLAUSE_BREAKS = frozenset([*",.;:!?", "und", "aber", "oder", "wenn", "weil", "dass", "sobald", "bis", "dann", "als"])
STEMMERS = {"de": "german", "en": "english"}
STOPWORDS = {"de": frozenset(STOPWORDS_GERMAN), "en": frozenset(STOPWORDS_EN)}
WORD_BY_LANGUAGE = {"de": WORD, "en": re.compile(r"[a-z]+")}


def _neighbours(word: str) -> set[str]:
    """`word` with one letter left out, at every position."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_typo_apart(a: str, b: str) -> bool:
    """Optimal string alignment distance of exactly one (insert, delete, substitute or swap two neighbours)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class Lexicon:
    """The known words of one language's BM25 documents; `normalize` brings a text's words to them."""

    def __init__(self, language: str, texts: Iterable[str]) -> None:
        self._language = language
        self._word = WORD_BY_LANGUAGE[language]
        self._stemmer = Stemmer.Stemmer(STEMMERS[language])
        counts = Counter(w for text in texts for w in self._word.findall(text.lower()))
        self._frequency = counts
        self._stopwords = STOPWORDS[language]
        self._stems = {self._stemmer.stemWord(w) for w in counts if len(w) >= MIN_PART}
        self._surface: dict[str, str] = {}  # stem -> its most frequent word
        for w, _ in counts.most_common():
            self._surface.setdefault(self._stemmer.stemWord(w), w)
        self._deletions: dict[str, list[str]] = {}
        for w in counts:
            if len(w) >= MIN_TYPO - 1:
                for variant in _neighbours(w):
                    self._deletions.setdefault(variant, []).append(w)
        self._split = lru_cache(maxsize=4096)(self._split_uncached)
        self._foreign: frozenset[str] = frozenset()  # words of the other languages: never "typos"

    def words(self) -> frozenset[str]:
        """Every word the documents hold, and the language's stop words."""
        return frozenset(self._frequency) | self._stopwords

    def foreign(self, words: Iterable[str]) -> None:
        """Words of other languages (a German query is normalized by the English lexicon too): not corrected."""
        self._foreign = frozenset(words)

    def known(self, word: str) -> bool:
        return word in self._frequency or self._stemmer.stemWord(word) in self._stems

    def _part(self, piece: str) -> bool:
        return len(piece) >= MIN_PART and self._stemmer.stemWord(piece) in self._stems

    def _split_uncached(self, word: str, whole: bool = True) -> tuple[str, ...] | None:
        """The fewest known parts `word` is made of (each at least MIN_PART letters; more than one
        unless `whole`), or None."""
        if whole and self._part(word):
            return (word,)
        best: tuple[str, ...] | None = None
        for cut in range(MIN_PART, len(word) - MIN_PART + 1):
            head, tail = word[:cut], word[cut:]
            for link in LINKS:
                if not head.endswith(link) or len(head) - len(link) < MIN_PART:
                    continue
                stem = head[: len(head) - len(link)] if link else head
                if not self._part(stem) and not (link and self._part(head)):
                    continue
                rest = self._split(tail)
                if rest is not None and (best is None or len(rest) + 1 < len(best)):
                    best = (head if self._part(head) else stem, *rest)
        return best

    def compound(self, word: str) -> tuple[str, ...]:
        """The parts of a German compound of known words ("ballverrückt" -> ball, verrückt); () if none."""
        if self._language != "de" or len(word) < MIN_COMPOUND:
            return ()
        parts = self._split(word, False)
        return parts if parts is not None and len(parts) > 1 else ()

    def correction(self, word: str) -> str | None:
        """The most frequent known word one typo away from an unknown `word`, or None (also for dog names)."""
        if len(word) < MIN_TYPO or word in DOG_NAMES or word in self._foreign:
            return None
        candidates = set(self._deletions.get(word, ()))  # a letter too many
        for variant in _neighbours(word):
            if variant in self._frequency:
                candidates.add(variant)  # a letter missing
            candidates.update(self._deletions.get(variant, ()))  # a wrong or swapped letter
        # Owners rarely mistype the first letter; keeping it avoids most "corrections" of real words.
        found = [c for c in candidates if c[0] == word[0] and _one_typo_apart(word, c)]
        return max(found, key=lambda c: (self._frequency[c], c)) if found else None

    def inflection(self, word: str) -> str | None:
        """A known word of the same verb when `word` is a German verb form the stemmer keeps apart
        ("bellt", "gebellt" -> "bellen"), or None. The German Snowball stemmer leaves the -t of "er bellt"
        and the ge- of participles, the forms owners write most."""
        if self._language != "de":
            return None
        stem = self._stemmer.stemWord(word)
        bare = stem[2:] if stem.startswith("ge") and len(stem) >= 6 else stem
        for candidate in (bare[:-2] if bare.endswith(("st", "et")) else "", bare[:-1] if bare.endswith("t") else ""):
            if len(candidate) >= 4 and candidate in self._stems and candidate != stem:
                return self._surface[candidate]
        if bare != stem and bare in self._stems:
            return self._surface[bare]
        return None

    def separable(self, words: Sequence[str]) -> list[str]:
        """German separable verbs put back together: "springt jeden an" -> "anspringt", when the joined verb
        is known. The particle closes the clause, the verb is any word before it in the clause."""
        if self._language != "de":
            return []
        joined: list[str] = []
        clause: list[str] = []
        for word in (*words, "."):
            if word not in CLAUSE_BREAKS:
                clause.append(word)
                continue
            if len(clause) >= 2 and clause[-1] in PARTICLES:
                particle = clause[-1]
                for verb in clause[:-1]:
                    if self.known(particle + verb) or self.inflection(particle + verb):
                        joined.append(particle + verb)
                        break
            clause = []
        return joined

    def _base(self, word: str) -> str:
        return (word not in self._stopwords and self.inflection(word)) or word

    def _extra(self, words: Sequence[str]) -> list[str]:
        """Words added to a text: compound parts and joined separable verbs (in their base form)."""
        return [p for w in words for p in self.compound(w)] + [self._base(w) for w in self.separable(words)]

    def _words(self, text: str) -> list[str]:
        """Lower-case words, with "," "." ";" ":" "!" "?" kept as clause breaks."""
        return re.findall(self._word.pattern + r"|[,.;:!?]", text.lower())

    def document(self, text: str) -> str:
        """`text`'s words with verb forms in their base form, the parts of compounds and joined separable
        verbs added (so a query's separate words or other verb forms meet them)."""
        words = self._words(text)
        return " ".join((*words, *self._extra(words)))

    def normalize(self, text: str) -> str:
        """`text` as the base would write it: dialect forms replaced, compounds split, typos corrected."""
        words: list[str] = []
        for word in self._words(text):
            if word in CLAUSE_BREAKS:
                words.append(word)
            elif self._language == "de" and word in DIALECT:
                words.append(DIALECT[word])
            elif self.known(word) or word in self._stopwords or self.inflection(word):
                words.append(word)
            elif parts := self.compound(word):
                words.extend(parts)
            elif fixed := self.correction(word):
                words.append(fixed)
            else:
                words.append(word)
        return " ".join((*words, *self._extra(words)))


def lexicons(documents: Mapping[str, Sequence[str]]) -> dict[str, Lexicon]:
    """One lexicon per language from that language's BM25 documents, each knowing the others' words."""
    found = {language: Lexicon(language, texts) for language, texts in documents.items()}
    for language, lexicon in found.items():
        lexicon.foreign(w for other, o in found.items() if other != language for w in o.words())
    return found
