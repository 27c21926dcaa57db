"""Sort an owner's description before matching: behaviour, health sign, dog-related, off-topic or vague.

Offline word patterns (German and English) find what must never be matched to a behaviour: health
signs (the answer is "please see a vet"), dog questions that are no behaviour (worming, insurance,
food brands, the owner's own fear of dogs), and descriptions too generic to place ("Mein Hund ist
komisch", "he's so aggressive"). What remains goes to retrieval, whose confidence decides between a
behaviour and "could not place it" (search.py). bench/triage.py measures the whole decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_GERMAN

from .topic import DOG_NAMES, DOG_WORDS


class Category(StrEnum):
    BEHAVIOUR = "behaviour"
    HEALTH = "health"
    DOG_RELATED = "dog_related"
    OFF_TOPIC = "off_topic"
    VAGUE = "vague"


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


HEALTH = _any(
    # German
    r"durchfall|dünnpfiff|breiig|erbrech|erbricht|übergibt sich|übergeben|kotzt|gekotzt|würgt",
    r"humpel|hinkt|lahmt|lahmen|\bblut|blutig|fieber|hustet|husten|röchel|niest ständig|krampf|anfall|epilep",
    r"wund|entzünd|eiter|juckt|juckreiz|kratzt sich|schleckt sich|leckt sich|knabbert sich|beißt sich in die pfote",
    r"pfoten? (rot|wund|geschwollen)|hot ?spot|ausschlag|schuppen|haarausfall|kahle stelle",
    r"(frisst|fressen|isst) (seit .{1,30})?(nicht|nichts|kaum)|appetit|nicht mehr fressen|futter verweiger",
    r"trinkt (sehr |extrem |auffällig |total )?viel|säuft (sehr )?viel|schlapp|apathisch|lethargisch|teilnahmslos",
    r"knoten|beule|geschwulst|schwellung|geschwollen|schmerz|tut (ihm|ihr) weh|jault,? wenn (man|ich) (ihn|sie) anfass",
    r"schüttelt (ständig |dauernd |oft )?(den )?kopf|kratzt (sich )?(am|an den) ohr|rutscht auf dem (po|hintern)",
    r"schlittenfahren|atmet schwer|atemnot|hechelt (stark |auch )?(in ruhe|im liegen|nachts)|taumelt|torkelt",
    r"nimmt ab|abgenommen|gewicht verloren|mundgeruch|zahnfleisch|augen (tränen|eitern|rot)|trübe augen",
    r"bauch (ist )?(hart|aufgebläht|dick)|aufgebläht|zittert am ganzen körper|steht nicht (mehr )?auf",
    r"will nicht (mehr )?(laufen|aufstehen)|inkontinen|verstopf|wurmbefall|würmer im kot|zecke|floh|flöhe",
    # English
    r"vomit|throw(s|ing)? up|threw up|being sick|diarrh|runny (poo|poop|stool)|loose stool|limp|lame\b",
    r"\bblood|bleeding|fever|cough|sneez|seizure|\bfits?\b|convuls|wheez|itch|scratch(es|ing)? (himself|herself|itself|constantly|all the time|non-?stop)",
    r"lick(s|ing)? (his|her|its) (paws?|legs?|skin)|chew(s|ing)? (his|her|its) (paws?|feet)|raw\b|sore\b|rash|hot ?spot",
    r"not eating|won'?t eat|stopped eating|off (his|her|its) food|no appetite|lost (his|her|its) appetite|refus(es|ing) (food|to eat)",
    r"drink(s|ing)? (a lot|loads|so much|lots)|lethargic|listless|no energy|lump|swollen|swelling|pain\b|in pain|hurts",
    r"yelp(s|ing)? when (i|we) touch|shak(es|ing) (his|her|its) head|scoot|pant(s|ing)? (at rest|at night|while resting)",
    r"bloated|wobbly|collaps|losing weight|lost weight|bad breath|gums|discharge|incontinen|constipat|worms in",
    r"fleas?\b|ticks?\b|wheezing",
)
# Car sickness is a behaviour of the base (autofahren): vomiting in the car stays a behaviour description.
CAR = re.compile(r"\b(auto|autofahr\w*|car|drive|drives|driving|fahrt|fahren)\b")
CAR_SICKNESS = re.compile(r"erbrech|erbricht|übergibt|kotzt|gekotzt|würgt|vomit|throw(s|ing)? up|threw up|sick|sabbert|drool")

DOG_RELATED = _any(
    r"entwurm|wurmkur|impf|tollwut|versicher|haftpflicht|hundesteuer|steuer|chip|registrier|hundeführerschein",
    r"leinenpflicht|maulkorbpflicht|listenhund|welches futter|welche(s|n)? (trocken|nass)?futter|futtersorte|futtermarke",
    r"wie ?viel (futter|soll .* fressen)|barf|trockenfutter|nassfutter|leckerlis? (kaufen|marke)|shampoo|bürste (für|kaufen)",
    r"(hunde)?züchter|welpen kaufen|welpe(n)? (kaufen|holen|aussuchen)|welche rasse|rasse (passt|empfehl)|adoptier",
    r"urlaub mit (dem )?hund|hundefreundlich|hotel|hundesitter|gassigeher|hundepension|tierpension|hundename",
    r"\bname für|wie soll (ich )?(ihn|sie|den hund|meinen hund) nennen|kastration kost|was kostet|kosten für",
    r"angst vor hunden|vor hunden angst|hundehaare|allergie gegen hunde|hundekot .* (nachbar|ordnungsamt)",
    r"deworm|worming|wormer|vaccin|jab(s)?\b|rabies|insurance|dog tax|licen[cs]e|microchip|muzzle law",
    r"which (dog )?food|what food|food brand|kibble brand|how much (should|do) (i|we) feed|raw feeding|\bbarf\b",
    r"shampoo|grooming products?|which brush|breeder|buy(ing)? a (puppy|dog)|which breed|what breed (should|is best)",
    r"adopt(ing)? a|dog-?friendly|holiday with|vacation with|dog ?sitter|dog walker|kennels?\b|boarding",
    r"name (for|ideas)|what should (i|we) (call|name)|how much does .* cost|neuter(ing)? cost|spay(ing)? cost",
    r"(afraid|scared|frightened) of dogs|fear of dogs|allergic to dogs|dog hair",
)
OWNER_FEAR_SUBJECTS = re.compile(r"\b(mein hund|meine hündin|unser hund|my dog|our dog|he is|she is)\b")

GENERIC = frozenset(
    """
    komisch seltsam merkwürdig anders aggressiv agressiv aggresiv böse frech ungezogen unerzogen schwierig problem
    probleme problemhund verhaltensauffällig verhaltensprobleme verhaltensproblem stur dominant nervig unmöglich
    schlimm blödsinn unfug quatsch mist hilfe help verrückt durchgeknallt wild anstrengend total echt voll ganz
    irgendwie plötzlich neuerdings manchmal oft immer ständig dauernd sehr so einfach gar nichts nix mehr macht
    machen tut tun benimmt benehmen verhalten verhält hört gehorcht gehorchen folgt weiß weiss hilf bitte ratlos
    weird strange odd aggressive naughty bad difficult problems issues behaviour behavior behaving behaves stubborn
    crazy nuts mad acting acts act up out misbehaves misbehaving listen listens listening obey obeys wont won't
    doesnt doesn't dont don't always never suddenly lately recently really very so just badly terrible awful
    horrible nightmare control trouble troublesome annoying lot lots much little bit kind sort stuff things thing
    nothing everything something anything whatever days weeks since jetzt seit tagen wochen letzter zeit hat ist
    sind war wird wurde bin bist hast habe hab gibt mal wieder schon noch auch aber und oder dass wenn wie was
    """.split()
)
_WORD = re.compile(r"[a-zäöüß']+")
STOPWORDS = frozenset(w.lower() for w in (*STOPWORDS_GERMAN, *STOPWORDS_EN_PLUS))


@dataclass(frozen=True)
class Signals:
    """What the words alone say; retrieval decides the rest."""

    health: bool
    dog_related: bool
    generic_only: bool  # nothing left but dog words, stop words and generic judgements


def signals(text: str) -> Signals:
    lowered = text.lower()
    health = bool(HEALTH.search(lowered))
    if health and CAR.search(lowered) and CAR_SICKNESS.search(lowered):
        health = bool(HEALTH.search(CAR_SICKNESS.sub(" ", lowered)))
    dog_related = bool(DOG_RELATED.search(lowered))
    if dog_related and re.search(r"angst vor hunden|afraid of dogs|scared of dogs|fear of dogs", lowered):
        dog_related = not OWNER_FEAR_SUBJECTS.search(lowered)
    content = [
        w
        for w in _WORD.findall(lowered)
        if w not in STOPWORDS and w not in GENERIC and w not in DOG_WORDS and w not in DOG_NAMES and len(w) > 2
    ]
    return Signals(health=health, dog_related=dog_related, generic_only=not content)
