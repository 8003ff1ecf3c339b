"""The Advisor: understand -> retrieve -> rank -> compose, behind one `answer()` call.

The same Advisor serves Telegram, the terminal chat and `python -m bot ask`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError
from langchain_chroma import Chroma

from bot.advisor import composer
from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.models import Answer, Facets, Intent, Profile, Recommendation, Turn
from bot.advisor.ranking import Candidate, rank, resolve_retired
from bot.advisor.retrieval import (
    DenseIndex,
    LexicalIndex,
    Scored,
    facet_filters,
    reciprocal_rank_fusion,
    topic_terms,
)
from bot.advisor.sources import SourceList
from bot.advisor.understanding import Understanding, asks_for_guidance, understand
from bot.advisor.vocabulary import Vocabulary
from bot.heap import freeze_long_lived
from ingest.embeddings import SentenceTransformerEmbeddings
from ingest.index import active_collection_name, open_active_collection
from ingest.schema import Credential, Level, Occupation, Status

logger = logging.getLogger(__name__)

DENSE_K = 60
LEXICAL_K = 40
FILTERED_K = 20
FILTERED_ENOUGH = 8
# A comparison of more than this many is unreadable in a chat (and was once 180 credentials in 30 messages).
MAX_COMPARED = 4
# Below this cosine similarity a credential is not about the question at all.
RELEVANT_SIMILARITY = 0.40
REFRESH_SECONDS = 30.0


@dataclass
class Retrieved:
    credentials: dict[str, float] = field(default_factory=dict)  # credential id -> fused relevance
    guides: list[IndexedChunk] = field(default_factory=list)
    occupations: list[IndexedChunk] = field(default_factory=list)
    best_credential_similarity: float = 0.0


@dataclass
class _Loaded:
    catalog: Catalog
    vocab: Vocabulary
    lexical: LexicalIndex
    dense: DenseIndex


class Advisor:
    """Answers questions about credentials and careers from the live knowledge index."""

    def __init__(self, client: ClientAPI, embeddings: SentenceTransformerEmbeddings) -> None:
        self.client = client
        self.embeddings = embeddings
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._workers: ThreadPoolExecutor | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def load(self) -> None:
        """Load the model and the live index now; raises IndexUnavailable if there is none."""
        self.embeddings.load()
        self._reload()

    def _reload(self) -> None:
        collection = open_active_collection(self.client, self.embeddings)
        catalog = Catalog.from_collection(collection)
        store = Chroma(
            client=self.client,
            collection_name=collection.name,
            embedding_function=self.embeddings,
            create_collection_if_not_exists=False,
        )
        self._loaded = _Loaded(
            catalog,
            Vocabulary.from_catalog(catalog),
            LexicalIndex(catalog.chunks),
            DenseIndex(store, collection, catalog),
        )
        freeze_long_lived()  # the loaded index lives until the next switch: keep it out of every collection
        logger.info("advisor loaded index %s (%d chunks)", collection.name, len(catalog.chunks))

    def refresh(self, force: bool = False) -> bool:
        """Follow the index pointer to a newer generation; True when one was loaded."""
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS:
            return False
        self._checked_at = now
        with self._lock:
            current = self._loaded.catalog.collection_name if self._loaded else None
            active = active_collection_name(self.client)
            if active and active != current:
                self._reload()
                return True
        return False

    @property
    def state(self) -> _Loaded:
        if self._loaded is None:
            self.load()
        assert self._loaded is not None
        return self._loaded

    @property
    def catalog(self) -> Catalog:
        return self.state.catalog

    # -- answering -------------------------------------------------------------------------
    async def aanswer(self, question: str, profile: Profile | None = None, history: Sequence[Turn] = ()) -> Answer:
        """`answer` off the event loop: embedding and ranking are CPU work.

        Answers run on one worker per core rather than asyncio's default pool (cores + 4): more
        threads than cores only make the model's matrix work contend, and every extra thread that
        allocates tensors grows the heap the process keeps.
        """
        if self._workers is None:
            self._workers = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="advisor")
        call = functools.partial(contextvars.copy_context().run, self.answer, question, profile, history)
        return await asyncio.get_running_loop().run_in_executor(self._workers, call)

    def answer(self, question: str, profile: Profile | None = None, history: Sequence[Turn] = ()) -> Answer:
        try:
            self.refresh()
        except Exception:  # a broken new index must not stop answers from the current one
            logger.exception("could not switch to the new index; still answering from the current one")
        try:
            return self._answer(question, profile, history)
        except NotFoundError:
            # An ingest drops every generation but the live one and the one before it, so two ingests
            # between periodic checks remove the one loaded here: follow the pointer now and ask again.
            if not self.refresh(force=True):
                raise
            logger.info(
                "the index generation this advisor read was dropped; now answering from %s",
                self.catalog.collection_name,
            )
            return self._answer(question, profile, history)

    def _answer(self, question: str, profile: Profile | None, history: Sequence[Turn]) -> Answer:
        state = self.state
        u = understand(question, state.catalog, state.vocab, profile, history)
        if u.intent is Intent.OUT_OF_SCOPE:
            return self._reply(question, u, composer.compose_out_of_scope(u.injection), [], SourceList(state.catalog))
        if u.intent is Intent.SMALLTALK:
            return self._reply(question, u, composer.compose_smalltalk(question), [], SourceList(state.catalog))

        retrieved = self.retrieve(u.query, u.facets)
        self._settle_intent(u, retrieved, question)
        return self.compose(question, u, retrieved, profile)

    def retrieve(self, query: str, facets: Facets) -> Retrieved:
        state = self.state
        vector = self.embeddings.embed_query(query)
        dense = state.dense.search(vector, DENSE_K)
        lexical = state.lexical.search(query, LEXICAL_K)
        filtered = self.filtered_searches(vector, facets)
        return gather(dense, reciprocal_rank_fusion(dense, lexical, *filtered))

    def filtered_searches(self, vector: Sequence[float], facets: Facets) -> list[list[Scored]]:
        """Dense searches within the facets the question names, strictest first."""
        filtered: list[list[Scored]] = []
        for where in facet_filters(facets):
            filtered.append(self.state.dense.search(vector, FILTERED_K, where=where))
            if len(filtered[-1]) >= FILTERED_ENOUGH:
                break  # the looser filter would only repeat what the strict one found
        return filtered

    def _settle_intent(self, u: Understanding, retrieved: Retrieved, question: str) -> None:
        """A question that names no field but reads like a request: trust retrieval, or admit not knowing."""
        if (
            u.intent is Intent.GUIDANCE
            and not u.facets.domains
            and retrieved.best_credential_similarity >= RELEVANT_SIMILARITY
        ) and not asks_for_guidance(question):
            u.intent = Intent.RECOMMEND

    def compose(self, question: str, u: Understanding, retrieved: Retrieved, profile: Profile | None) -> Answer:
        catalog = self.state.catalog
        sources = SourceList(catalog)
        facets = u.facets
        intent = u.intent

        if intent is Intent.GUIDANCE:
            guides = _prefer_guidance(retrieved.guides)
            return self._reply(question, u, composer.compose_guidance(guides[:3], question, sources), [], sources)

        if intent in (Intent.CREDENTIAL_INFO, Intent.COMPARE):
            ids = u.referenced or facets.credential_ids
            creds = [catalog.credentials[i] for i in ids if i in catalog.credentials]
            left_out: list[Credential] = []
            if intent is Intent.COMPARE and len(creds) > MAX_COMPARED:
                creds, left_out = creds[:MAX_COMPARED], creds[MAX_COMPARED:]  # the first ones named
            if intent is Intent.COMPARE and len(creds) == 1:
                creds += self._peers(creds[0], retrieved, facets, profile)
            if intent is Intent.COMPARE and len(creds) >= 2:
                cands = [Candidate(c) for c in creds]
                text = composer.compose_compare(cands, facets, profile, sources, left_out)
                # the table shows a retired credential as it was; the recommendations hold its successor
                named = [c.id for c in creds]
                return self._reply(question, u, text, resolve_retired(catalog, cands, named), sources)
            if creds:
                return self._info(question, u, creds[0], sources)

        pathway: list[tuple[str, str]] = []
        occupation = catalog.occupations.get(facets.target_occupation or "")
        if occupation is None and intent is Intent.CAREER_SWITCH:
            occupation = _occupation_for(catalog, facets, retrieved)
        if occupation is not None:
            pathway = [(s.credential, s.stage.value) for s in occupation.pathway]
        guide_sections = self._switch_guides(u, retrieved)
        mentions = [cid for chunk in guide_sections[:3] for cid in chunk.listed("credentials")]
        ranked = rank(catalog, retrieved.credentials, facets, profile, intent, pathway=pathway, guide_mentions=mentions)
        if intent is Intent.CAREER_SWITCH:
            fields = set(occupation.domains) if occupation else set(facets.domains[:1])
            ordered = [
                c
                for c in _pathway_order(ranked, pathway)
                if c.credential.id in dict(pathway) or not fields or fields & set(c.credential.domains)
            ]
            skipped = _skippable_basics(ordered, pathway, facets, profile) if occupation else []
            ordered = [c for c in ordered if c not in skipped]
            text = composer.compose_switch(
                occupation, facets.current_role, guide_sections, ordered, profile, facets, question, sources, skipped
            )
            return self._reply(question, u, text, ordered[:4], sources)

        if (
            not facets.domains
            and not facets.credential_ids
            and retrieved.best_credential_similarity < RELEVANT_SIMILARITY
        ):
            return self._reply(question, u, composer.compose_unknown(), [], sources)
        if _names_no_field(facets, profile):
            # Nearest neighbours of "which exam should I take?" are arbitrary, and those of "certs for
            # truck drivers" are credentials for other jobs: ask for the field, or say it is not covered.
            topic = topic_terms(question)
            if not topic and not _constrained(facets):
                return self._reply(question, u, composer.compose_which_field(), [], sources)
            if topic and not self.state.lexical.mentions(topic, "credential"):
                return self._reply(question, u, composer.compose_unknown(), [], sources)
        return self._reply(
            question, u, composer.compose_recommend(ranked, facets, profile, sources), ranked[:3], sources
        )

    def _peers(
        self, named: Credential, retrieved: Retrieved, facets: Facets, profile: Profile | None, count: int = 2
    ) -> list[Credential]:
        """The closest alternatives to one named credential: same field, nearest level, best ranked."""
        catalog = self.state.catalog
        field_facets = facets.model_copy(update={"domains": named.domains[:1], "credential_ids": []})
        ranked = rank(catalog, retrieved.credentials, field_facets, profile, Intent.RECOMMEND)
        same_field = [
            c.credential
            for c in ranked
            if c.credential.id != named.id and c.credential.primary_domain is named.primary_domain
        ][: count * 3]
        # "similar but cheaper" is about price, not level; otherwise the nearest level is the fairest peer
        if facets.budget_usd is None and not facets.free_only:
            # a stable sort keeps the ranking's order among credentials at the same distance in level
            same_field.sort(key=lambda c: abs(c.level.rank - named.level.rank))
        return same_field[:count]

    def _info(self, question: str, u: Understanding, cred: Credential, sources: SourceList) -> Answer:
        catalog = self.state.catalog
        successor = catalog.successor(cred) if cred.status is Status.RETIRED else None
        following = [
            c for c in catalog.credentials.values() if cred.id in c.prerequisite_ids and c.status is Status.ACTIVE
        ]
        for occ in catalog.occupations.values():
            steps = [s.credential for s in occ.pathway]
            if cred.id in steps and steps.index(cred.id) + 1 < len(steps):
                nxt = catalog.credentials.get(steps[steps.index(cred.id) + 1])
                if nxt is not None and nxt not in following and nxt.status is Status.ACTIVE:
                    following.append(nxt)
        text = composer.compose_info(cred, successor, following, sources)
        # A retired credential is never recommended as such: its successor stands in its place.
        return self._reply(question, u, text, resolve_retired(catalog, [Candidate(cred)], [cred.id]), sources)

    def _switch_guides(self, u: Understanding, retrieved: Retrieved) -> list[IndexedChunk]:
        catalog = self.state.catalog
        if u.guide_roles:
            sections = catalog.guide_chunks(u.guide_roles[0])
            if sections:
                return sections
        target = u.facets.target_occupation
        # A guide written for another starting role describes someone else's skills and gap. Only when
        # the starting role is unknown does it help, and then without its "what you already bring".
        if u.facets.current_role:
            return []
        for chunk in retrieved.guides:
            if chunk.meta.get("guide_kind") == "career-switch" and target and target in chunk.listed("to_occupations"):
                return [
                    c
                    for c in catalog.guide_chunks(chunk.record_id)
                    if "transferable" not in c.meta.get("heading", "").lower()
                ]
        return []

    def _reply(
        self, question: str, u: Understanding, text: str, cands: Sequence[Candidate], sources: SourceList
    ) -> Answer:
        recs = [
            Recommendation(
                id=c.credential.id,
                name=c.credential.name,
                provider=c.credential.provider,
                domains=[d.value for d in c.credential.domains],
                level=c.credential.level.value,
                status=c.credential.status.value,
                url=c.credential.url,
                reason=composer._why(c) if c.reasons else "",
            )
            for c in cands
        ]
        return Answer(
            question=question,
            intent=u.intent,
            in_scope=u.in_scope,
            mode="grounded",
            text=text,
            recommendations=recs,
            sources=sources.sources,
            facets=u.facets,
        )


def gather(dense: Sequence[Scored], fused: Sequence[Scored]) -> Retrieved:
    """Sort the fused hits by kind; the best dense credential similarity says whether any is relevant."""
    out = Retrieved()
    for hit in dense:
        if hit.chunk.kind == "credential":
            out.best_credential_similarity = max(out.best_credential_similarity, hit.score)
    for hit in fused:
        if hit.chunk.kind == "credential":
            out.credentials.setdefault(hit.chunk.record_id, hit.score)
        elif hit.chunk.kind == "guide":
            out.guides.append(hit.chunk)
        elif hit.chunk.kind == "occupation":
            out.occupations.append(hit.chunk)
    return out


def _names_no_field(facets: Facets, profile: Profile | None) -> bool:
    """A request for credentials that says nothing of the field, job or provider, with no goal on file."""
    goal = profile is not None and (profile.target_domain is not None or bool(profile.target_role))
    return not (facets.domains or facets.credential_ids or facets.target_occupation or facets.providers or goal)


def _constrained(facets: Facets) -> bool:
    """Whether the request sets a level, a budget or a weekly time, which is enough to go on."""
    return (
        facets.level is not None
        or facets.budget_usd is not None
        or facets.free_only
        or facets.hours_per_week is not None
        or facets.vendor_neutral
    )


def _prefer_guidance(chunks: Sequence[IndexedChunk]) -> list[IndexedChunk]:
    general = [c for c in chunks if c.meta.get("guide_kind") == "guidance"]
    return general or list(chunks)


def _occupation_for(catalog: Catalog, facets: Facets, retrieved: Retrieved) -> Occupation | None:
    if facets.domains:
        for occ in catalog.occupations.values():
            if occ.domains[0] == facets.domains[0]:
                return occ
    if retrieved.occupations:
        return catalog.occupations.get(retrieved.occupations[0].record_id)
    return None


def _skippable_basics(
    ordered: Sequence[Candidate], pathway: Sequence[tuple[str, str]], facets: Facets, profile: Profile | None
) -> list[Candidate]:
    """First steps that someone already working in tech can skip: beginner ones, and ones in their own field.

    Not when they asked for beginner level themselves.
    """
    wanted = facets.level or (profile.level if profile else None)
    if not facets.technical_background or wanted is Level.BEGINNER:
        return []
    first_steps = {cid for cid, stage in pathway if stage == "first"}
    skippable = [
        c
        for c in ordered
        if c.credential.id in first_steps
        and (c.credential.level is Level.BEGINNER or c.credential.primary_domain in facets.background_domains)
    ]
    # a plan needs at least one step left
    return skippable if len(skippable) < len(ordered) else []


def _pathway_order(ranked: Sequence[Candidate], pathway: Sequence[tuple[str, str]]) -> list[Candidate]:
    """Career switches follow the occupation's path in order, best-ranked alternatives after."""
    stage_rank = {"first": 0, "next": 1, "later": 2}
    position = {cid: (stage_rank[stage], i) for i, (cid, stage) in enumerate(pathway)}
    on_path = sorted((c for c in ranked if c.credential.id in position), key=lambda c: position[c.credential.id])
    # when the person's level or budget rules out a first step, the ranking has already pushed it down
    first_choice = [c for c in ranked[:1] if c.credential.id not in position]
    rest = [c for c in ranked if c.credential.id not in position and c not in first_choice]
    return first_choice + on_path + rest if first_choice and not on_path else on_path + rest


__all__ = ["Advisor", "Retrieved", "Scored"]
