"""Is a text about a dog? An offline lexical check (no network), combined with retrieval confidence.

Owners rarely name the dog in every sentence ("er zieht so an der Leine"), so the absence of dog words
proves nothing. What does tell: an explicit dog word, breed or common dog name (strong evidence), a
sentence whose subject is clearly someone or something else ("Mein Chef bellt mich an", "Meine
Katze kratzt am Sofa", "Die Leine für die Wäsche") without any strong evidence, and dog behaviour
verbs (weak evidence). `Topic.verdict` combines these with the retriever's confidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import phrases


def _words(block: str) -> list[str]:
    return block.split()


WORD = re.compile(r"[a-zäöüß]+")
# Compounds count too (Hundewiese, Zweithund, Hundebett), but not "hundert".
DOG_COMPOUND = re.compile(r"(^hunde(?!rt)|hund(e|es|en|i|chen)?$|hündin(nen)?$|^welpe|rüde(n)?$)")
DOG_WORDS = frozenset(
    _words(
        """
    hund hunde hündin rüde rüden welpe welpen junghund junghunde vierbeiner fellnase fellnasen wauwau
    hundi wuffi töle köter mischling dog dogs puppy gassi gassirunde leckerli leckerlis hundeschule
    hundetrainer hundetrainerin läufig läufige kastriert kastration hundemama herrchen frauchen
    doggo doggy pup puppies pooch mutt hound bitch canine leash lead walkies treats kennel crate neutered
    spayed zoomies lab labbi labi dackl rescue maul schnauze pfote pfoten rute halsband napf maulkorb schleppleine
    hundeleine paw paws snout harness collar
    """
    )
)
# Common dog names in German-speaking homes; owners write them instead of "mein Hund".
DOG_NAMES = frozenset(
    _words(
        """
    bello luna balu bruno rocky max emma nala sammy ronja felix oskar milo wotan rudi frieda jack püppi
    toni ronny paula sam amy lucky sunny buddy charly charlie coco kira lilly lilli lotte mia leo loki
    benny bobby bella sina sky snoopy teddy aiko akira anton ben bolle cookie elvis filou finn frodo
    gismo hugo idefix jacky jule kalle lasse lucy lumpi maja merlin nelly odin otto rex rosi sheila
    simba spike struppi susi tyson wally whisky yoshi zeus fiete enzo bonnie hasso ella daisy pepe paula
    ronny rocco bailey buster lola molly poppy rosie ruby teddy winston bear duke murphy oscar alfie archie
    barney biscuit bruce cooper dexter diesel hank harley henry jasper koda louie marley milo ollie ozzy
    pippa riley rufus sadie scout stella toby willow ziggy frankie gizmo
    """
    )
)
# Beings and things that, as the subject of a sentence, mean it is not about a dog.
OTHER_SUBJECTS = frozenset(
    _words(
        """
    katze kater katzen pferd pferde pony vogel vögel wellensittich papagei kanarienvogel huhn hühner
    kaninchen hase hamster meerschweinchen ratte maus fisch fische schildkröte kuh ziege schaf
    chef chefin kollege kollegin kollegen nachbar nachbarin nachbarn mann frau freund freundin sohn
    tochter kind kinder baby mutter vater mama papa oma opa bruder schwester lehrer lehrerin partner
    partnerin mitbewohner schwiegermutter enkel auto wagen heizung handy computer laptop drucker
    waschmaschine fernseher zaun leine wäsche rasen garten haus wohnung wetter steuer spiel
    cat cats kitten horse pony bird parrot budgie rabbit hamster boss colleague neighbour neighbor husband
    wife boyfriend girlfriend son daughter kid kids child children toddler baby mum mom dad teacher car
    laptop phone computer printer washing weather
    """
    )
)
BEHAVIOUR_VERBS = re.compile(
    r"^(bell|kläff|knurr|winsel|jaul|fiep|heul|beiß|beiss|biss|schnapp|zwick|zerr|jag|hetz|buddel|grab"
    r"|markier|pinkel|pisst|kack|leck|spring|sprang|hüpf|bewach|verteidig|zerbeiß|zerkau|kau|fress|frisst"
    r"|wälz|schnüffel|hechel|zittert|zieht|zog|ziehen|angst|ängstlich|kaputt|zerstör|klau|bettel|streun|kotz"
    r"|erbrech|abhau|haut|hört|gehorch|rennt|renn|apportier|knabber|anknurr|anbell|verbell|pöbel|ankläff|anspring"
    r"|büx|gezog|ruf|rief|gerufen|rammel|aufreit|klammer|heult|jault|quietsch|fletsch|brumm|steif|versteck|zittr"
    r"|buddelt|wühl|kläfft"
    r"|bark|growl|whin|whimper|howl|yap|bite|bit|biting|snap|nip|lung|chas|hunt|dig|pee|poo|mark|hump|mount"
    r"|jump|pull|tug|steal|stole|chew|lick|roll|beg|guard|destroy|run|ran|bolt|escap|scaveng|fetch|herd|cower"
    r"|drool|shak|trembl|hopst|rammelt|suhl|gesuhl)"
)
THINGS = frozenset(
    _words(
        """
    zaun leine wäsche rasen garten haus wohnung sofa couch bett garden yard house flat sofa
    """
    )
)
# Another animal opening the text without any dog word is about that animal, unless something chases it.
# Singular and plural, house pets to farm animals, with the dialect forms owners write; not what a dog
# steals or eats (fish, duck, pig), nor what owners call their dog (Maus).
OTHER_ANIMALS = frozenset(
    _words(
        """
    katze katzen katz katzerl kater mieze miezekatze samtpfote samtpfoten stubentiger kätzchen pferd pferde
    pony ponys vogel vögel wellensittich wellensittiche sittich sittiche papagei papageien kaninchen hamster
    meerschweinchen degu degus chinchilla chinchillas frettchen rennmaus rennmäuse farbmäuse ratte ratten marder
    maulwurf igel stute hengst
    wallach fohlen schildkröte schildkröten hase hühner huhn henne hennen hahn ziege ziegen geiß goaß
    schaf schafe kuh kühe esel alpaka alpakas lama lamas schlange bartagame gecko leguan
    cat cats kitten kittens kitty tomcat tabby ragdoll horse horses pony ponies mare foal budgie budgies
    parrot parrots hamster hamsters rabbit rabbits bunny bunnies guinea degu degus chinchilla ferret ferrets
    rat rats mouse mice mole moles hedgehog tortoise turtle goat goats chickens hen hens rooster
    sheep cow cows donkey alpaca llama snake gecko lizard
    """
    )
)
OPENING = 6  # an animal among the first words is the subject; later ("seit der neue Kater da ist") a context
CHASE = re.compile(r"^(jag|hetz|hinterher|verfolg|nachrenn|nachlauf|chas|hunt|after|kill)")
DETERMINERS = frozenset(
    {"mein", "meine", "unser", "unsere", "der", "die", "das", "ein", "eine", "dein", "deine", "my", "our", "the"}
)
# Dialect forms of "my/our/the" that open an owner's sentence (Bavarian, Swiss, Kölsch, Low German).
DIALECT_DETERMINERS = frozenset({"mei", "meij", "unsa", "unsre", "üse", "üsi", "uns", "d", "de", "dä"})
ANIMAL_OPENERS = DETERMINERS | DIALECT_DETERMINERS


@dataclass(frozen=True)
class Evidence:
    """What the words of a text say about its topic."""

    strong: bool  # a dog word, breed or dog name
    other_subject: bool  # the sentence opens with someone or something else as subject
    weak: bool  # a dog behaviour verb
    animal_subject: bool = False  # it opens with another animal as subject ("Unser Kater pinkelt...")


def _opens_with_animal(words: list[str]) -> bool:
    """True when the text opens with another animal as its subject: "Unser Kater", "my bunnies", "Mei Katz",
    "D'Goaß". An animal later on, or first without a determiner ("Katze in Sicht und er ist weg"), is what
    the dog meets (cross-validated: those readings cost as many behaviour lines as they saved)."""
    return len(words) >= 2 and words[0] in ANIMAL_OPENERS and words[1] in OTHER_ANIMALS


class Topic:
    """The offline "about a dog?" check; `breed_words` are the knowledge base's breed aliases."""

    def __init__(
        self,
        breed_words: Iterable[str],
        *,
        threshold: float,
        weak_threshold: float,
        verb_threshold: float | None = None,
    ) -> None:
        # Whole aliases only: "german shepherd" is a dog, "german" alone is not.
        aliases = {a.lower() for a in breed_words if len(a) > 3}
        self._breeds = phrases.whole_words(aliases)
        self._threshold = threshold
        self._weak_threshold = weak_threshold
        self._verb_threshold = weak_threshold if verb_threshold is None else verb_threshold

    @property
    def breeds(self) -> re.Pattern[str] | None:
        """Every breed alias as one whole-word pattern."""
        return self._breeds

    @property
    def weak_threshold(self) -> float:
        return self._weak_threshold

    def evidence(self, text: str) -> Evidence:
        words = WORD.findall(text.lower())
        strong = any(w in DOG_WORDS or w in DOG_NAMES or DOG_COMPOUND.search(w) for w in words) or bool(
            self._breeds is not None and self._breeds.search(text.lower())
        )
        weak = any(BEHAVIOUR_VERBS.match(w) for w in words)
        # A thing opening the sentence ("Unser Garten sieht aus wie ...") hides no dog when a dog verb follows.
        other = len(words) >= 2 and words[0] in DETERMINERS and words[1] in OTHER_SUBJECTS
        other = other and not (weak and words[1] in THINGS)
        if any(w in OTHER_ANIMALS for w in words[:OPENING]) and not any(CHASE.match(w) for w in words):
            other = True
        animal = _opens_with_animal(words)
        return Evidence(strong=strong, other_subject=other, weak=weak, animal_subject=animal)

    def threshold(self, text: str) -> float | None:
        """The confidence a match needs for `text` (by its evidence); None when it is about something else."""
        found = self.evidence(text)
        if found.strong:
            return self._weak_threshold
        if found.other_subject:
            return None
        return self._verb_threshold if found.weak else self._threshold

    def verdict(self, text: str, confidence: float) -> bool:
        """True when `text` is about a dog, given the best retrieval `confidence` (0..1)."""
        needed = self.threshold(text)
        return needed is not None and confidence >= needed
