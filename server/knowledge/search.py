"""Search with the "no match" decision: the message model sorts the text, retrieval lends its confidence.

Used by KnowledgeService.SearchBehaviors and by the conversation flow, so both answer alike: only a
text sorted as dog behaviour can match, and a match needs a calibrated confidence (a wrong confident answer
is worse than a question: an abstention asks what exactly the dog does). Titles come in the asked language.
Without the message model (a search built by hand, as in unit tests), word lists and retrieval's
thresholds decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from rpc.metrics import Metrics

from . import triage
from .dialect import NONE, Dialect
from .message_model import NON_BEHAVIOUR, MessageModel
from .retrieval.interface import Match, Retriever
from .topic import Topic
from .triage import Category
from .types import LANGUAGES, Behavior

# Confidences a best match needs, calibrated on the tuning part of bench/data/eval by retrieval alone
# (word lists off, since they were tuned on the same sentences and would hide retrieval's false matches;
# recalibrate whenever retrieval or the phrasings change): per kind of evidence, the threshold in steps of
# 0.05 with the fewest errors, a behaviour sentence that abstains and a non-behaviour sentence that passes
# counted alike (a wrong confident answer is worse than a question: an abstention asks what exactly).
# Recalibrated this way after the lexicon (2026-12-02): the same steps came out best (0.6 for a dog word,
# 0.45 for a verb, 0.55 and 0.6 tied for neither), so the thresholds stayed. Since the message model these
# rules decide only for a search built without it.
DEFAULT_THRESHOLD = 0.6  # the text holds no dog word and no dog behaviour verb
DEFAULT_WEAK_THRESHOLD = 0.6  # it names a dog (word, breed, common dog name)
DEFAULT_VERB_THRESHOLD = 0.45  # it holds a dog behaviour verb only
# A clear winner may fall a little short of the threshold: short texts ("Bello zieht wie ein Ochse") score
# low on BM25 while every other behaviour scores far lower. Calibrated like the thresholds
# (`bench/triage.py --calibrate`, tuning part only).
CLEAR_WINNER_SLACK = 0.1  # how far below the threshold a clear winner may be
CLEAR_WINNER_MARGIN = 0.3  # how far ahead of the runner-up it must be
# With the message model (message_model.py) the model decides: its best class when that is a category;
# for a behaviour, its decision value plus this weight times retrieval's confidence, and a match needs
# MATCH_FLOOR. Calibrated by cross-validation by set on the owner messages (`bench/triage.py --calibrate`:
# with the sentence vectors in the model, 0.6 / -0.4 had the fewest errors, 179 of 5,332 (125 behaviours
# missed, 27 others matched); the former 1.5 / 0.0 had 190, 0.6 / -0.5 to -1.0 180 to 185).
FUSION_WEIGHT = 0.6
MATCH_FLOOR = -0.4
# The health word lists send a text to the vet first, unless the model's best class is a behaviour it
# scores at least this (0.0: the model's own decision boundary) and no urgent sign (triage.URGENT: pain,
# blood, vomiting, seizures, refusing food...) is named. Without that exception a passing word ("zittert",
# "röchelt", "wund") took clear behaviour descriptions to the vet. By the same cross-validation (4,279
# messages, 2026-12-02): recall@1 German 0.930 -> 0.938, English 0.954 -> 0.956; health to the vet German
# 0.963 (unchanged), English 0.982 -> 0.973. Without the urgent signs, health to the vet fell in German
# too; -0.3 moved two or three sentences, within the noise.
HEALTH_WORDS_YIELD = 0.0
FUSION_CANDIDATES = 10  # how many of retrieval's best lend their confidence


def confident(
    scores: list[float], needed: float, *, slack: float = CLEAR_WINNER_SLACK, margin: float = CLEAR_WINNER_MARGIN
) -> bool:
    """True when the best of `scores` (best first) passes `needed`, or nearly does and leads clearly."""
    if not scores:
        return False
    best, runner = scores[0], scores[1] if len(scores) > 1 else 0.0
    return best >= needed or (best >= needed - slack and best - runner >= margin)


def fused(
    values: Mapping[str, float], confidences: Mapping[str, float], *, weight: float = FUSION_WEIGHT
) -> list[tuple[float, str]]:
    """The behaviours retrieval ranked (`confidences`, each in 0..1), best first, by the message model's value
    plus `weight` times retrieval's confidence: retrieval proposes, the model decides."""
    scored = [(values[b] + weight * c, b) for b, c in confidences.items() if b in values and b not in NON_BEHAVIOUR]
    return sorted(scored, key=lambda pair: (-pair[0], pair[1]))


@dataclass(frozen=True)
class SearchResult:
    """The matches that passed (best first) and what the text is about."""

    matches: list[Match]
    category: Category

    @property
    def about_dog(self) -> bool:
        return self.category is not Category.OFF_TOPIC


class KnowledgeSearch:
    """`retriever` ranks; `topic` knows the breed words; thresholds are confidences in 0..1; `behaviors`
    gives the current behaviours (to tell a health sign a behaviour explains; without it every sign goes
    to the vet); `messages` classifies the message (none: the word lists and retrieval's thresholds
    decide); `dialect` the dialect words read as standard German (dialect.py) before anything else reads the
    query."""

    def __init__(
        self,
        retriever: Retriever,
        topic: Topic,
        *,
        behaviors: Callable[[], Mapping[str, Behavior]] | None = None,
        messages: MessageModel | None = None,
        metrics: Metrics | None = None,
        dialect: Dialect = NONE,
    ) -> None:
        self._retriever = retriever
        self._dialect = dialect
        self._abstentions = metrics.retrieval_abstentions if metrics is not None else None
        self._messages = messages
        self._topic = topic
        self._behaviors = behaviors

    @property
    def retriever(self) -> Retriever:
        return self._retriever

    @property
    def topic(self) -> Topic:
        return self._topic

    @property
    def messages(self) -> MessageModel | None:
        return self._messages

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    async def _explained(self, query: str) -> bool:
        """True when a behaviour explains the health signs of `query` ("frisst nichts mehr, seit die Hündin
        nebenan läufig ist"): without the sign words the text still matches that behaviour confidently, and
        the behaviour's own text names every sign. A sign alone, or one no behaviour names, stays health."""
        if self._behaviors is None:
            return False
        rest = triage.without_health_signs(query)
        needed = self._topic.threshold(rest)
        ranked = await self._retriever.search(rest, 1)
        if needed is None or not ranked or ranked[0].score < needed:
            return False
        behavior = self._behaviors().get(ranked[0].id)
        if behavior is None:
            return False
        texts = [behavior.text(language) for language in LANGUAGES if language == "de" or behavior.en is not None]
        own = " ".join(" ".join((t.title, *t.phrasings, t.dog_view)) for t in texts)
        return triage.named_in(triage.health_signs(query), own)

    def threshold(self, query: str) -> float | None:
        """The confidence a match for `query` needs (by its evidence); None when it is about something else."""
        return self._topic.threshold(query)

    async def sort_by_words(self, query: str) -> Category | None:
        """What the words alone decide, or None."""
        found = triage.signals(query, breeds=self._topic.breeds)
        evidence = self._topic.evidence(query)
        about_dog = (evidence.strong or evidence.weak) and not evidence.other_subject
        if found.not_for_us or (evidence.other_subject and not evidence.strong):
            return Category.OFF_TOPIC
        if found.health and not await self._explained(query):
            return Category.HEALTH
        if found.dog_related:
            return Category.DOG_RELATED
        if found.generic_only:
            return Category.VAGUE if about_dog or found.judgement else Category.OFF_TOPIC
        return None

    async def search(
        self, query: str, limit: int, *, language: str = "de", behaviors: Mapping[str, Behavior] | None = None
    ) -> SearchResult:
        """Matches above the threshold, best first; empty unless the text is about a dog's behaviour.

        With `behaviors`, match titles are given in `language`. Every empty result counts as an
        abstention (`wuffchat_retrieval_abstentions_total{category}`).
        """
        result = await self._search(self._dialect.standard(query), limit, language=language, behaviors=behaviors)
        if not result.matches and self._abstentions is not None:
            self._abstentions.labels(str(result.category)).inc()
        return result

    async def _search(
        self, query: str, limit: int, *, language: str, behaviors: Mapping[str, Behavior] | None
    ) -> SearchResult:
        values = {} if self._messages is None else await self._messages.scores(query)
        yields = self._clear_behaviour(values) and not triage.urgent(query) if values else False
        yields = yields or triage.vet_cleared(query)  # "Tierarzt sagt, er ist gesund, aber ...": the model decides
        if values and not yields and await self.sort_by_words(query) is Category.HEALTH:
            return SearchResult([], Category.HEALTH)  # a sign the word lists know goes to the vet first
        if values:
            return await self._classified(query, limit, values, language=language, behaviors=behaviors)
        return await self._by_rules(query, limit, language=language, behaviors=behaviors)

    @staticmethod
    def _clear_behaviour(values: Mapping[str, float]) -> bool:
        """True when the model's best class is a behaviour it scores at least HEALTH_WORDS_YIELD."""
        best = max(values, key=lambda owner: values[owner])
        return best not in NON_BEHAVIOUR and values[best] >= HEALTH_WORDS_YIELD

    async def _classified(
        self,
        query: str,
        limit: int,
        values: Mapping[str, float],
        *,
        language: str,
        behaviors: Mapping[str, Behavior] | None,
    ) -> SearchResult:
        best = max(values, key=lambda owner: values[owner])
        if best in NON_BEHAVIOUR:
            return SearchResult([], Category(best))
        evidence = self._topic.evidence(query)
        if evidence.animal_subject and not evidence.strong:
            return SearchResult([], Category.OFF_TOPIC)  # "Unser Kater pinkelt an die Haustür"
        ranked = await self._retriever.search(query, max(limit, FUSION_CANDIDATES))
        known = {m.id: m for m in ranked}
        passing = [owner for value, owner in fused(values, {m.id: m.score for m in ranked}) if value >= MATCH_FLOOR]
        if not passing:
            evidence = self._topic.evidence(query)
            about_dog = (evidence.strong or evidence.weak) and not evidence.other_subject
            return SearchResult([], Category.VAGUE if about_dog else Category.OFF_TOPIC)
        matches = [known[owner] for owner in passing[:limit]]
        return SearchResult(self._titled(matches, language, behaviors), Category.BEHAVIOUR)

    @staticmethod
    def _titled(matches: list[Match], language: str, behaviors: Mapping[str, Behavior] | None) -> list[Match]:
        if behaviors is None:
            return matches
        return [replace(m, title=behaviors[m.id].text(language).title) if m.id in behaviors else m for m in matches]

    async def _by_rules(
        self, query: str, limit: int, *, language: str, behaviors: Mapping[str, Behavior] | None
    ) -> SearchResult:
        words = await self.sort_by_words(query)
        if words is not None:
            return SearchResult([], words)
        ranked = await self._retriever.search(query, max(limit, 2))
        needed = self._topic.threshold(query)
        if needed is None or not confident([m.score for m in ranked], needed):
            evidence = self._topic.evidence(query)
            about_dog = (evidence.strong or evidence.weak) and not evidence.other_subject
            return SearchResult([], Category.VAGUE if about_dog else Category.OFF_TOPIC)
        matches = [*ranked[: min(limit, 1)], *(m for m in ranked[1:limit] if m.score >= needed)]
        return SearchResult(self._titled(matches, language, behaviors), Category.BEHAVIOUR)
