"""Sort an owner's description before matching: behaviour, health sign, dog-related, off-topic or vague.

Offline word patterns (German and English) find what must never be matched to a behaviour: health
signs (the answer is "please see a vet"), dog questions that are no behaviour (worming, insurance,
food brands, the owner's own fear of dogs), and descriptions too generic to place ("Mein Hund ist
komisch", "he's so aggressive"). What remains goes to retrieval, whose confidence decides between a
behaviour and "could not place it" (search.py). bench/triage.py measures the whole decision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def _set(block: str) -> frozenset[str]:
    return frozenset(block.split())


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Body parts and what can be wrong with them (German, English): a sign needs both, near each other.
_BODY_DE = (
    "auge|augen|augenlid|ohr|ohren|ohrmuschel|pfote|pfoten|ballen|pfotenballen|bein|beine|vorderbein|hinterbein"
    "|haut|bauch|zahn|zähne|zahnfleisch|lefze|lefzen|zunge|nase|kralle|krallen|gelenk|gelenke|hüfte|gesäuge"
    "|zitze|zitzen|hoden|backe|gesicht|milchleiste"
)
_SIGN_DE = (
    "rot|gerötet|geschwollen|dick|entzündet|eitrig|eitert|blutig|blutet|verklebt|trüb|tränt|nässt|nässend"
    "|verkrustet|krustig|kahl|schuppig|heiß|stinkt|wackelt|abgebrochen|eingerissen|blass|gelb|wund|juckt"
)
_SIGN_DE_BEFORE = (
    "rote|roten|rotes|geschwollene|geschwollenen|geschwollenes|dicke|dicken|dickes|entzündete|entzündeten"
    "|eitrige|eitrigen|blutige|blutigen|verklebte|verklebten|trübe|trüben|wunde|wunden|kahle|heiße|heißen"
    "|blasse|blassen|gelbe|gelben|tränende|tränenden"
)
_BODY_EN = (
    "eye|eyes|eyelid|ear|ears|paw|paws|pad|pads|leg|legs|skin|belly|tummy|stomach|tongue|nose|lip|lips|mouth"
    "|face|teeth|tooth|nail|nails|joint|joints|hip|hips|gums|gum|testicles?|nipples?"
)
_SIGN_EN = (
    "red|inflamed|swollen|puffy|bleeding|crusty|scabby|smelly|cloudy|weeping|gunky|watery|pale|yellow|hot"
    "|broken|loose|cracked|bald|sore|infected|oozing"
)


_LIMP = r"(?<!goes )(?<!went )(?<!gone )(?<!go )\blimp(s|ing|ed)?\b"  # "goes limp" is no limp

HEALTH = _any(
    # German (word starts)
    r"\b(durchfall|dünnpfiff|breiig|erbrech|erbroch|erbricht|gekrampf|übergibt sich|übergeben|kotzt|gekotzt|würgt)",
    r"\b(humpel|hinkt|lahmt|lahmen|blut|fieber|hustet|husten|röchel|krampf|anfall|epilep|knubbel|knoten|beule)",
    r"\b(wund|entzünd|eiter|juckt|juckreiz|ausschlag|haarausfall|geschwulst|schwellung|geschwollen)",
    r"\b(hat|habe|vor|bei) schmerz|schmerzen hat|schmerzempfindlich|schmerzt (ihn|sie|ihm|ihr)|jault vor",
    r"(kratzt|schleckt|leckt|knabbert|beißt|beisst) sich (\w+ ){0,3}(pfote|pfoten|wund|blutig|ständig|dauernd|kahl)",
    r"pfoten? (rot|wund|geschwollen)|hot ?spot|kahle stelle|tut (ihm|ihr) weh|niest ständig",
    r"\b(frisst|frißt|isst) (\w+ ){0,5}(nicht|nichts|kaum)( mehr)?\b|appetit|futter verweiger|nicht mehr fressen",
    r"will nicht (mehr )?fressen|kann (\w+ ){0,4}nicht mehr (hoch|laufen|springen|aufstehen|treppen)|abgemagert",
    r"(trinkt|säuft) (\w+ ){0,5}(unmengen|literweise|massig|wie verrückt|ständig)",
    r"sabbert (plötzlich|stark|extrem|sehr)",
    r"\btrinkt (\w+ ){0,5}(viel|mehr)\b|säuft (sehr )?viel|\b(schlapp(e|er|es)?\b|apathisch|lethargisch|teilnahmslos)",
    r"(jault|schreit|quietscht|winselt),? (\w+,? ){0,2}wenn (man|ich|wir) (ihn|sie) (anfass|anheb|hochheb|hochnehm)",
    r"jault (\w+ ){0,2}beim (treppensteigen|aufstehen|hinlegen|springen|hochheben)"
    r"|(?<!wie )(?<!wäre er )(?<!wäre sie )\b(taub|schwerhörig)\b(?! für)",
    r"starrt (\w+ ){0,3}(die |an die )?wand|(steht|bleibt) (\w+ ){0,3}in (der|einer) ecke (stehen|fest)",
    r"schüttelt (ständig |dauernd |oft )?(den )?kopf",
    r"kratzt (sich |se |si )?(am|an den|an de|an da) ohr",
    r"rutscht .{0,30}(po|hintern)|schlittenfahren|atmet schwer|atemnot|zieht (seinen|ihren|den) (hintern|po) über",
    r"kopf (ist )?(\w+ )?schief|fällt (dabei |immer |einfach )?um\b|frisst (\w+ )?(nüt|nix|nümm|nimmer|nimma)\b",
    r"analdrüse|anal glands?|jault (\w+,? ){0,3}wenn (er|sie) (\w+ ){0,2}treppe",
    r"schütt\w* (\w+ ){0,3}(kopf|koupf|schädel)",
    r"knickt (\w+ ){0,3}(weg|ein)\b|treppe (\w+ )?(nicht|kaum) (mehr |noch )?hoch|kaum noch (die )?treppe",
    r"hechelt (\w+ ){0,3}(in ruhe|im liegen|nachts)|\b(taumelt|torkelt|inkontinen|verstopf)",
    r"nimmt ab|abgenommen|gewicht verloren|mundgeruch|zahnfleisch|augen (tränen|eitern|rot)|trübe augen",
    r"bauch (ist )?(hart|aufgebläht|dick)|aufgebläht|zittert am ganzen körper|steht nicht (mehr )?auf",
    r"will nicht (mehr )?(laufen|aufstehen)|läuft (ganz |so |total )?(steif|komisch|schief)|wurmbefall|würmer im",
    r"\b(zecke|zecken|floh|flöhe)\b",
    r"\b(ohrenentzündung|bindehaut|blähung|blähbauch|sabbert stark|röchelt|hechelt ständig|fieberhaft)",
    r"(schläft|liegt) (\w+ ){0,3}nur noch|bewegt sich kaum|mag nicht (mehr )?fressen|frisst (ganz )?schlecht",
    r"(pinkelt|pieselt|uriniert|muss) (\w+ ){0,2}(ständig|dauernd|sehr oft|so oft)( raus)?|\bim urin|\burin\b",
    r"(kratzt|beißt|leckt|schleckt) sich (\w+ ){0,3}(fell|haut|po|hintern|bauch|blutig|ganze nacht|nachts)",
    r"kahle stellen|schuppen",
    r"nase läuft|augen(ausfluss| sind rot| tränen)|ohren (stinken|riechen)|kopf schief|gleichgewicht",
    r"\b(würgt|würgen|hustet|schluckt ständig)|dick geworden|zu dünn|rippen sieht|kommt (kaum|nicht) (mehr )?hoch",
    r"\b(off colou?r|runny nose|eye discharge|ear infection|smelly ears|head tilt|balance)\b",
    r"pee(s|ing)? (a lot|more|constantly|all the time)|blood in|(gagging|retching|dry heaving|hiccups)",
    r"(sleeps|sleeping|lies|lying) (around )?all day|can'?t (get|stand) up|struggl(es|ing) to (stand|get up)",
    r"\b(arthritis|hair loss|bald (patch|spot)s?|dandruff|weak|weakness|feverish|dehydrated)\b",
    r"(skin|ears?|eyes?|paws?|gums) (is |are |look |looks )?(red|inflamed|swollen|bleeding|crusty|smelly)",
    # English
    r"\b(vomit|throw(s|ing)? up|threw up|being sick|diarrh|runny (poo|poop|stool)|loose stool|lame\b)|" + _LIMP,
    r"\b(blood|bleeding|fever|cough|sneez|seizure|convuls|wheez|itchy|itching|rash|lumps?\b|bumps?\b|swollen|swelling)",
    r"scratch(es|ing)? (himself|herself|itself|constantly|all the time|non-?stop)|hot ?spot",
    r"scratch(es|ing)? (at )?(his|her|its) (ears?|skin|belly|face)|ears? (smell|stink)|they smell",
    r"lick(s|ing)? (his|her|its) (paws?|legs?|skin|bum|butt|bottom|rear|privates|genitals)",
    r"chew(s|ing)? (on |at )?(his|her|its) (paws?|feet)|\b(raw|sore)\b",
    r"\bstiff (\w+ )?(getting|get|when|in the morning)",
    r"(hasn'?t|has not|won'?t|didn'?t|did not) touch(ed)? (his|her|its) (food|dinner|breakfast|bowl)",
    r"star(es|ing) at (the )?walls?|(gets|getting) stuck in corners|confused at night|(doesn'?t|does not) know where",
    r"rice[- ]?(like )?(bits|grains)|(pee|wee|pees|wees|peeing|weeing|leaks?|leaking) (\w+ )?in (his|her|its) sleep",
    r"leak(s|ing)? (urine|wee|pee)|dribbl(es|ing) (urine|wee|pee)",
    r"(hasn'?t|has not|hadn'?t|didn'?t|did not) (\w+ )?(eaten|eat)\b",
    r"not eating|won'?t eat|stopped eating|off (his|her|its) food|no appetite|lost (his|her|its) appetite",
    r"refus(es|ing) (food|to eat)|drink(s|ing)? (a lot|loads|so much|lots|more)|\b(lethargic|listless)|no energy",
    r"(he|she|it|dog)('s| is| seems| seems to be)? (in pain|hurting)|hurts (him|her|itself)|pain when"
    r"|yelp(s|ed|ing)? (\w+ ){0,2}when|shak(es|ing) (his|her|its) head",
    r"\bscoot(s|ing)?\b|pant(s|ing)? (heavily )?(at rest|at night|while resting|lying)",
    r"walking (\w+ )?(funny|stiff|stiffly|strange|strangely)",
    r"\b(bloated|wobbly|collapsed|losing weight|lost weight|bad breath|gums|discharge|incontinen|constipat)",
    r"breath (stinks|smells)|worms in|\b(fleas|ticks)\b",
    # Signs with a body or symptom context (a body part with what is wrong with it, an injury, a poison,
    # a diagnosis), so that single words a behaviour text may hold ("Giftköder", "gebrochen") stay out.
    rf"\b({_BODY_DE})\b (\w+ ){{0,3}}({_SIGN_DE})\b|\b({_SIGN_DE_BEFORE}) (\w+ )?({_BODY_DE})\b",
    r"\bfell (\w+ ){0,3}(stumpf|schuppig|verfilzt|fällt aus|dünn|licht|kahl)|\brote flecken|\bflecken (am|auf)",
    r"\b(dünnschiss|arthrose|arthritis|hüftdysplasie|dysplasie|bandscheibe|kreuzband|spondylose|tumor|zyste|warze"
    r"|bewusstlos|ohnmacht|ohnmächtig|zuckungen|zahnstein|ausfluss|vergift|rattengift|schneckenkorn|speichelt"
    r"|keucht|japst|umgekippt|kippt (einfach )?um|zusammengebrochen|bricht zusammen|angefahren|matt\b|blass\b)",
    r"(ohren|bauch|zahn|gelenk|rücken|hüft|bein|pfoten)schmerz|\bschaum vor (dem |der )?(maul|mund|schnauze)",
    r"\b(ist|wird) (\w+ )?blind",
    r"(hat|ist) sich (\w+ ){0,6}(verletzt|geschnitten|eingerissen|gerissen|gebrochen|verstaucht|gezerrt)",
    r"\b(bein|pfote|zahn|kralle|rippe|knochen|hüfte)\w* (\w+ ){0,2}(gebrochen|angebrochen|abgebrochen)",
    r"\bhat (heute |gestern |nachts |heute nacht |mehrmals |zweimal |dreimal |schon |wieder )*gebrochen\b",
    r"(schokolade|weintrauben|trauben|rosinen|xylit|gift|medikamente|tabletten|ibuprofen)\w* (\w+ ){0,3}"
    r"(gefressen|erwischt|geschluckt|aufgenommen|verschluckt|gegessen)|\b(hat|hatte) (\w+ ){0,4}verschluckt",
    r"\bschont (\w+ ){0,3}\w*(bein|pfote|lauf)|belastet (\w+ ){0,3}\w*(bein|pfote|lauf)\w* nicht|bein hoch\b",
    r"(kot|stuhl|kacke|haufen|häufchen) (ist |sind |war )?(\w+ )?(schleimig|wässrig|flüssig|schwarz|blutig)",
    r"\bkeinen (kot|stuhl)|nicht (mehr )?(gekackt|gekotet)|leckt (sich )?(\w+ ){0,2}(am|an seinem|an ihrem)"
    r" (po|hintern|after|genital|penis|scheide)",
    rf"\b({_BODY_EN})\b (\w+ ){{0,3}}({_SIGN_EN})\b|\b({_SIGN_EN}) ({_BODY_EN})\b|\bcut on (his|her|its)",
    r"\bthe runs\b|\b(has been|been|was|is being|got|gets) sick\b(?! of)|struggl\w* to breathe"
    r"|(trouble|difficulty) breathing|can'?t breathe|breathing (hard|heavily|fast)",
    r"\bstrain(s|ing)? to (poo|pee|wee|go)",
    r"(was|got|been|be) (hit|clipped|struck|knocked( over)?) by a car",
    r"losing (his|her|its) (fur|hair|coat)|(fur|hair) (is )?falling out",
    r"\b(a|high) temperature",
    r"\b(dysplasia|cruciate|slipped disc|tumou?r|cancer|cyst|wart|faint(ed|s)?|passed out|tarry|poison(ed|ing)?"
    r"|rat bait|slug pellets|antifreeze|squint(s|ing)?)\b(?! bait)|can'?t (pee|wee|poo|poop)|drool\w* (a lot|loads)",
    r"\b(ate|eaten|got into|swallowed) (\w+ ){0,4}(chocolate|grapes|raisins|xylitol|medication|pills|ibuprofen)"
    r"|\bswallowed (a|an|some|the|his|her|part)\b|(favou?r|hold)(s|ing)? (his|her|its|one|a) (\w+ )?(leg|paw)"
    r"|legs? (keep |kept )?giv(e|es|ing) way|tired all the time|sleeping all the time",
)
# Car sickness is a behaviour of the base (autofahren): vomiting in the car stays a behaviour description.
CAR = re.compile(
    r"\b(auto|autofahr\w*|car|drive|drives|driving|fahrt|fahren|kofferraum|rücksitz|rückbank|beifahrer\w*|autobahn"
    r"|kombi|back ?seat|car seat|road trips?)\b"
)
CAR_SICKNESS = re.compile(
    r"erbrech|erbricht|übergibt|übergeben|kotzt|gekotzt|würgt|vomit|throw(s|ing)? up|threw up|sick|sabbert|drool"
)
# Asking about products or rules is a dog question even when it names a health topic ("flea treatment").
# The health signs that go to the vet whatever else a text describes (search.py): pain, blood, vomiting,
# seizures, collapse, poison, refusing food, limping, laboured breathing. The other signs ("zittert",
# "röchelt", "wund") yield to a behaviour the message model is sure of.
URGENT = _any(
    r"schmerz|jault vor|tut (ihm|ihr) weh|\b(blut|erbrech|erbroch|erbricht|kotzt|gekotzt|krampf|anfall|epilep)",
    r"(jault|schreit|quietscht|winselt),? (\w+,? ){0,2}wenn (man|ich|wir) (ihn|sie) (anfass|anheb|hochheb|hochnehm)",
    r"jault (\w+ ){0,2}beim (treppensteigen|aufstehen|hinlegen|springen|hochheben)",
    r"\b(humpel|hinkt|lahmt|vergift|bewusstlos|ohnmacht|umgekippt|zusammengebrochen|atemnot)|atmet schwer",
    r"\b(frisst|frißt|isst) (\w+ ){0,5}(nicht|nichts|kaum)( mehr)?\b|futter verweiger|will nicht (mehr )?fressen",
    r"(schokolade|weintrauben|trauben|rosinen|xylit|gift|medikamente|tabletten|ibuprofen)\w* (\w+ ){0,3}"
    r"(gefressen|erwischt|geschluckt|aufgenommen|verschluckt|gegessen)",
    r"\b(vomit|throw(s|ing)? up|threw up|blood|bleeding|seizure|convuls|lame\b|collapsed|poison)|" + _LIMP,
    r"in pain|hurting|hurts (him|her|itself)|pain when|yelp(s|ed|ing)? (\w+ ){0,2}when",
    r"not eating|won'?t eat|stopped eating|off (his|her|its) food|no appetite|refus(es|ing) (food|to eat)",
)


# The owner says a vet has already ruled a medical cause out ("Tierarzt sagt, er ist gesund", "Urinprobe war
# sauber", "clean bill of health"): the signs they name are what the behaviour is about, so the word lists do
# not send the text to the vet again and the message model decides. In the owner messages (6,952) all 17
# texts that say so describe a behaviour, and none of the health lines says so.
_VET = r"(tierarzt|tierärztin|tierklinik|tierärztlich)\w* (\w+,? ){0,4}"
VET_CLEARED = _any(
    _VET + r"(nichts|nix) (\w+ )?(gefunden|festgestellt|finden|passiert)",
    _VET + r"(alles (ok|gut|in ordnung|top|abgeklärt)|(?<!nicht )(kern)?gesund\b|abgeklärt|ausgeschlossen)",
    r"(schmerzen|blasenentzündung|krankheit|organisch\w*|medizinisch\w*) (\w+,? ){0,3}(ausgeschlossen|abgeklärt)",
    r"\bausgeschlossen, ",
    r"blutwerte (\w+ ){0,2}(top|gut|ok|unauffällig|in ordnung)|(urin|kot|stuhl)probe (\w+ ){0,2}(sauber|unauffällig"
    r"|ok|negativ)",
    r"clean bill|ruled out|nothing (medical|wrong with (him|her))|medically (fine|cleared|ok)",
    r"\bvets? (\w+ ){0,3}(says|said|found|checked|thinks)\w* (\w+ ){0,3}(?<!not )(fine|healthy|nothing|all ok|ok)\b",
    r"\b(bloods?|blood ?work|tests?) (\w+ ){0,2}(came back |were |was )?(fine|normal|clear)\b",
)


# Blood in a fight between dogs or from a female in heat, and a male off his food beside a female in heat,
# are what the behaviour is about: with one of these contexts the sign alone is not urgent (a behaviour the
# model is sure of answers; without one, the vet).
BLOOD = re.compile(r"blut|blood|bleed")
# in the stool, the urine, from the mouth: urgent, fight or heat
BLOOD_IN = re.compile(r"\b(blut\w*|blood|bleed\w*) (im|in|aus|from)\b")
FIGHT = re.compile(
    r"beißerei|beisserei|rauferei|rangel|fetz|aneinander|gekämpft|kämpfen|angegriffen|gebissen|verbeißt"
    r"|\bzank|\bzoff|streit|prügel|\brauf(en|t)\b|fight|scrap|scuffle|attack|\bbit\b|bitten"
    r"|(going|goes|went) for (him|her|the|our|my)|pinn(ing|ed|s) "
)
HEAT = re.compile(r"läufig|\bhitze\b|in heat|in season|into season")
APPETITE = re.compile(r"fress|frisst|frißt|isst|futter|eat|food|appetite")


def _excused(sign: str, lowered: str) -> bool:
    """True when the urgent `sign` is what a fight or a heat named in `lowered` explains."""
    if BLOOD.search(sign):
        return bool((FIGHT.search(lowered) or HEAT.search(lowered)) and not BLOOD_IN.search(lowered))
    return bool(APPETITE.search(sign) and HEAT.search(lowered))


PRODUCTS = re.compile(
    r"(floh|zecken|wurm|flea|tick|worm)\w* ?(mittel|schutz|halsband|tablette|treatment|collar|tablets?|spot)"
)

DOG_RELATED = _any(
    r"\b(entwurm|wurmkur|impf|geimpft|tollwut|hundeführerschein|leinenpflicht)|versicher|haftpflicht|hundesteuer",
    r"(soll|sollte|sollen|should|shall)\b.{0,40}(kastrier|kastration|sterilis|neuter|spay|castrat)",
    r"\bworm (my|our|him|her|the|a|puppies|dogs)\b|\bworm(ed|ing)? (him|her|them|my|our|the|a)\b",
    r"\b(maulkorbpflicht|listenhund|futtersorte|futtermarke|trockenfutter|nassfutter|barf|getreidefrei|züchter)",
    r"welche(s|n|r)? (\w+ )?(futter|bürste|leine|geschirr|halsband|box|transportbox|körbchen|spielzeug|marke|rasse)",
    r"wie ?viel (futter|sollte|soll)|leckerlis? (kaufen|marke)|shampoo|welpen? (kaufen|holen|aussuchen)",
    r"rasse (passt|empfehl)|adoptier|\burlaub|hundefreundlich|hotel|hundesitter|gassigeher|hundepension|tierpension",
    r"hundename|namen für|wie soll (ich )?(ihn|sie|den hund|meinen hund) nennen|kastration kost|\\bgesetz|erlaubt",
    r"angst vor (großen |kleinen |fremden )?hunden|vor hunden angst|hundehaare|allergie gegen hunde",
    r"\b(deworm|worming|wormer|vaccin|jabs?\b|rabies|insurance|dog tax|licen[cs]e|microchip|muzzle law|kibble)",
    r"\b(good|best|right) (\w+ )?(brush|food|lead|leash|harness|collar|crate|bed|shampoo|kibble)\b",
    r"\b(worm|flea|deflea)\b (and \w+ )?(my|our|him|her|them|the)\b",
    r"which (\w+ )?(food|brush|lead|leash|harness|collar|crate|bed|toy|brand|breed)|what food|food brand",
    r"how much (should|do|does) .{0,40}(feed|eat)|raw feeding|grain[- ]free|shampoo|grooming products?",
    r"\bbreeder|buy(ing)? a (puppy|dog)|what breed|adopt(ing)? a|dog[- ]?friendly|holiday|vacation",
    r"dog ?sitter|dog walker|\bkennels?\b|boarding|name (for|ideas)|what should (i|we) (call|name)",
    r"how much does .* cost|(neuter|spay)(ing)? cost|legal|(?<!-)\blaw\b|allowed to|am i allowed",
    r"(afraid|scared|frightened) of (big |large |small |strange )?dogs|fear of dogs|allergic to dogs|dog hair",
)
OWNER_FEAR_SUBJECTS = re.compile(r"\b(mein hund|meine hündin|unser hund|my dog|our dog|he is|she is)\b")
ABOUT_THE_BOT = re.compile(
    r"\b(bist du (ein|eine|echt|eigentlich)|wer hat dich|are you (a|an|real|human|actually)|who (made|built) you)"
)
INSULTS = re.compile(
    r"\b(blöd|doof|dumm|scheiß|scheiss|idiot|nutzlos|schwachsinn|bullshit|halt die klappe|halts maul|du nervst"
    r"|bescheuert|vollidiot|depp|trottel|blödmann|stupid|useless|dumb|shut up|you suck|sucks|rubbish|garbage"
    r"|moron|pathetic|hate you)"
)
MAX_INSULT_WORDS = 8  # a long description may well say "der blöde Postbote"

GENERIC = _set(
    """
    completely totally absolutely utterly komplett völlig einfach behaved behave think glaube feel seems
    unserer unseren unserem meiner meinem meinen deiner ihrer seiner
    komisch seltsam merkwürdig anders aggressiv agressiv aggresiv böse frech ungezogen unerzogen schwierig
    problem probleme problemhund verhaltensauffällig verhaltensprobleme verhaltensproblem stur dominant nervig
    unmöglich schlimm blödsinn unfug quatsch mist hilfe help verrückt durchgeknallt wild anstrengend total echt
    voll ganz irgendwie plötzlich neuerdings manchmal oft immer ständig dauernd sehr so einfach gar nichts nix
    mehr macht machen tut tun benimmt benehmen verhalten verhält hört gehorcht gehorchen folgt weiß weiss hilf
    bitte ratlos weird strange odd aggressive naughty bad difficult problems issues behaviour behavior behaving
    behaves stubborn crazy nuts mad acting acts act up out misbehaves misbehaving listen listens listening obey
    obeys wont won't doesnt doesn't dont don't always never suddenly lately recently really very so just badly
    terrible awful horrible nightmare control trouble troublesome annoying lot lots much little bit kind sort
    stuff things thing nothing word say says said gemein verändert fies zickig launisch moody grumpy mean richtig
    everything something anything whatever days weeks since jetzt seit tagen wochen
    letzter zeit hat ist sind war wird wurde bin bist hast habe hab gibt mal wieder schon noch auch aber und
    oder dass wenn wie was kommen kommt klar zurecht fällt ein narrisch hates hate wits end start where even
    handful honestly lately rescue geworden weiter nix sag sage egal überhaupt sometimes mir mich uns wir ich
    i'm im he's she's it's weiß weiss know what do does anymore more any idea ideas tipps tipp rat ratschlag
    advice tips please
    """
)
# Words that judge a dog's behaviour without saying what it does: with them a generic text is vague.
JUDGEMENTS = _set(
    """
    komisch seltsam merkwürdig anders aggressiv agressiv aggresiv böse frech ungezogen unerzogen schwierig
    problem probleme problemhund verhaltensauffällig verhaltensprobleme verhaltensproblem stur dominant nervig
    unmöglich schlimm blödsinn unfug verrückt narrisch anstrengend folgt gehorcht hört benimmt weird strange odd
    gemein verändert fies zickig launisch unausstehlich moody grumpy mean horrible nightmare
    aggressive naughty bad difficult problems issues stubborn crazy misbehaves misbehaving listen listens obey
    handful hates behaved behaving
    """
)
JUDGEMENT_PHRASES = _any(
    r"macht (einfach |immer |nur )?was (er|sie) will|does (whatever|what) (he|she|it) wants|out of control",
    r"badly behaved|wits'? end|driv(es|ing) me (up the wall|crazy|mad|nuts|insane|round the bend)",
    r"(listen|listens|listening) to (a|one) (single )?word|(hört|hört er|hört sie) (auf )?kein (einziges )?wort",
    r"weiß (nicht mehr|nicht) weiter|nicht (mehr )?klar|at a loss|keinen rat mehr",
    r"benimmt sich (\w+ ){0,3}daneben|tanzt (\w+ ){0,3}auf der nase|komisch drauf|läuft (\w+ )?nicht (gut|rund)",
    r"what to do with (him|her)|why is (he|she) (like this|so)|not going (great|well)|(a real|such a) pain",
    r"little (terror|monster|devil)",
)
_WORD = re.compile(r"[a-zäöüß']+")
_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüß"
_ENDING = re.compile(r"(?<=\w{4})(et|st|t|en|e|n|ig|ed|ing|s)$")  # what an inflection adds
STOPWORDS = frozenset(w.lower() for w in (*STOPWORDS_GERMAN, *STOPWORDS_EN_PLUS))


@dataclass(frozen=True)
class Signals:
    """What the words alone say; retrieval decides the rest."""

    health: bool
    dog_related: bool
    generic_only: bool  # nothing left but dog words, stop words and generic judgements
    judgement: bool  # a word that judges behaviour ("schlimm", "aggressive", "out of control")
    not_for_us: bool  # an insult or a question about the bot itself


def urgent(text: str) -> bool:
    """True when `text` holds a health sign that goes to the vet whatever else it describes (URGENT)."""
    lowered = text.lower()
    signs = [m.group(0) for m in URGENT.finditer(lowered)]
    return not all(_excused(sign, lowered) for sign in signs) if signs else False


def vet_cleared(text: str) -> bool:
    """True when `text` says a vet has already ruled a medical cause out (VET_CLEARED)."""
    return bool(VET_CLEARED.search(text.lower()))


def health_signs(text: str) -> list[str]:
    """The words of `text` that read as a health sign (what HEALTH matched, to the end of its last word)."""
    lowered = text.lower()
    return [m.group(0) + _word_rest(lowered[m.end() :]) for m in HEALTH.finditer(lowered)]


def _word_rest(tail: str) -> str:
    """The letters `tail` starts with (the rest of a word a pattern matched the start of)."""
    return tail[: len(tail) - len(tail.lstrip(_LETTERS))]


def without_health_signs(text: str) -> str:
    """`text` (lower-case) with its health-sign words left out: what the sentence says besides them."""
    return HEALTH.sub(" ", text.lower())


def named_in(signs: Sequence[str], text: str) -> bool:
    """True when every content word of `signs` occurs in `text`, up to an inflection ending ("blutig"
    meets "blutet", "frisst nichts" meets "frisst nicht"; "humpelt" does not meet "humped")."""
    known = _WORD.findall(text.lower())
    words = [w for sign in signs for w in _WORD.findall(sign) if w not in STOPWORDS and len(w) > 2]
    return bool(words) and all(any(k.startswith(_ENDING.sub("", w) or w) for k in known) for w in words)


def is_insult(text: str) -> bool:
    """An insult at the bot: short, with an abusive word."""
    return len(_WORD.findall(text.lower())) <= MAX_INSULT_WORDS and bool(INSULTS.search(text.lower()))


def signals(text: str, *, breeds: re.Pattern[str] | None = None) -> Signals:
    """What the words say; `breeds` (a pattern of breed names) are dog words, no content."""
    lowered = text.lower()
    health = bool(HEALTH.search(lowered)) and not PRODUCTS.search(lowered)
    if health and CAR.search(lowered) and CAR_SICKNESS.search(lowered):
        health = bool(HEALTH.search(CAR_SICKNESS.sub(" ", lowered)))
    dog_related = bool(DOG_RELATED.search(lowered)) or bool(PRODUCTS.search(lowered))
    if dog_related and re.search(r"angst vor hunden|afraid of dogs|scared of dogs|fear of dogs", lowered):
        dog_related = not OWNER_FEAR_SUBJECTS.search(lowered)
    found = [w.strip("'") for w in _WORD.findall(breeds.sub(" ", lowered) if breeds is not None else lowered)]
    if JUDGEMENT_PHRASES.search(lowered):
        found = [*_WORD.findall(JUDGEMENT_PHRASES.sub(" ", " ".join(found))), "problem"]
    content = [
        w
        for w in found
        if w not in STOPWORDS and w not in GENERIC and w not in DOG_WORDS and w not in DOG_NAMES and len(w) > 2
    ]
    return Signals(
        health=health,
        dog_related=dog_related,
        generic_only=not content,
        judgement=any(w in JUDGEMENTS for w in found) or bool(JUDGEMENT_PHRASES.search(lowered)),
        not_for_us=is_insult(text) or bool(ABOUT_THE_BOT.search(lowered)),
    )
