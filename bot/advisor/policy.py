"""What to answer for each intent: which credentials, guides and pathway go into the reply.

Given what the question says (the understanding) and what the searches found, the policy decides
the kind of answer (recommend, compare, credential info, career switch, guidance, "which field?",
"not covered") and lets the composer write it. It reads one loaded index and searches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.advisor import composer
from bot.advisor.catalog import Catalog, IndexedChunk
from bot.advisor.eligibility import stated_experience
from bot.advisor.matching import occupation_for_field
from bot.advisor.models import Answer, Facets, Intent, Profile, Recommendation
from bot.advisor.ranking import Candidate, rank, resolve_retired
from bot.advisor.retrieval import LexicalIndex, Retrieved, topic_terms
from bot.advisor.sources import SourceList
from bot.advisor.understanding import Understanding, asks_for_guidance
from ingest.schema import Credential, Domain, Level, Occupation, Status

# A comparison of more than this many is unreadable in a chat (and was once 180 credentials in 30 messages).
MAX_COMPARED = 4
# Below this cosine similarity a credential is not about the question at all.
RELEVANT_SIMILARITY = 0.40


# How many of the guide sections found a guidance answer chooses from, besides the best guide's other sections.
GUIDANCE_FOUND = 3


# Offered when a question names no field and nothing suggests one: the fields people ask about most.
POPULAR_FIELDS = (Domain.CLOUD, Domain.DATA_ANALYTICS, Domain.CYBERSECURITY, Domain.SOFTWARE_DEVELOPMENT)


@dataclass(frozen=True)
class AnswerPolicy:
    """Answers from one loaded index: its catalog, and its lexical index to tell which topics it covers."""

    catalog: Catalog
    lexical: LexicalIndex

    def answer_unsearched(self, question: str, u: Understanding) -> Answer | None:
        """The answer to a question that needs no search (out of scope, small talk), else None."""
        if u.intent is Intent.OUT_OF_SCOPE:
            return self._reply(question, u, composer.compose_out_of_scope(u.injection), [], SourceList(self.catalog))
        if u.intent is Intent.SMALLTALK:
            return self._reply(question, u, composer.compose_smalltalk(question), [], SourceList(self.catalog))
        if u.intent is Intent.ABOUT_BOT:
            return self._reply(question, u, composer.compose_about_bot(), [], SourceList(self.catalog))
        if u.intent is Intent.CANNOT_DO:
            return self._reply(question, u, composer.compose_cannot_do(), [], SourceList(self.catalog))
        if u.uncovered_field is not None:
            text = composer.compose_uncovered_field(u.uncovered_field)
            return self._reply(question, u, text, [], SourceList(self.catalog))
        return None

    def answer(self, question: str, u: Understanding, retrieved: Retrieved, profile: Profile | None) -> Answer:
        """The answer to a searched question; the search results may settle its intent first."""
        self._settle_intent(u, retrieved, question)
        return self._compose(question, u, retrieved, profile)

    def _settle_intent(self, u: Understanding, retrieved: Retrieved, question: str) -> None:
        """A question that names no field but reads like a request: trust retrieval, or admit not knowing."""
        if (
            u.intent is Intent.GUIDANCE
            and not u.facets.domains
            and retrieved.best_credential_similarity >= RELEVANT_SIMILARITY
        ) and not asks_for_guidance(question):
            u.intent = Intent.RECOMMEND

    def _compose(self, question: str, u: Understanding, retrieved: Retrieved, profile: Profile | None) -> Answer:
        catalog = self.catalog
        sources = SourceList(catalog)
        facets = u.facets
        intent = u.intent

        if intent is Intent.GUIDANCE:
            guides = self._guidance_candidates(_prefer_guidance(retrieved.guides))
            return self._reply(question, u, composer.compose_guidance(guides, question, sources), [], sources)

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
                return self._info(question, u, creds[0], sources, self._asked(u, creds[0], profile))
            if intent is Intent.CREDENTIAL_INFO:
                # asked about a credential the catalog does not hold: say so rather than describe another
                return self._reply(question, u, composer.compose_unknown_credential(), [], sources)

        if intent is Intent.CAREER_SWITCH and u.asks_pay and _names_no_field(facets, profile):
            asked = self._reply(question, u, composer.compose_pay_in_no_field(), [], sources)
            asked.field_choices = u.field_guesses or list(POPULAR_FIELDS)
            return asked

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
            if u.asks_pay:
                text = f"{composer.NO_PAY_FIGURES}\n\n{text}"
            if facets.no_code and occupation is not None and _needs_coding(occupation, catalog):
                text = f"{composer.role_needs_coding(occupation)}\n\n{text}"
            return self._offering_fields(u, self._reply(question, u, text, ordered[:4], sources))

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
                asked = self._reply(question, u, composer.compose_which_field(), [], sources)
                asked.field_choices = u.field_guesses or list(POPULAR_FIELDS)
                return asked
            if topic and not self.lexical.mentions(topic, "credential"):
                return self._reply(question, u, composer.compose_unknown(), [], sources)
        recommended = self._reply(
            question, u, composer.compose_recommend(ranked, facets, profile, sources), ranked[:3], sources
        )
        return self._offering_fields(u, recommended)

    @staticmethod
    def _offering_fields(u: Understanding, answer: Answer) -> Answer:
        """An answer read without knowing the field asks which one was meant, offering the likeliest."""
        if u.offers_fields and answer.recommendations and not answer.field_choices:
            answer.text += "\n\n" + composer.NOT_SURE_OF_FIELD
            answer.field_choices = u.field_guesses
        return answer

    def _peers(
        self, named: Credential, retrieved: Retrieved, facets: Facets, profile: Profile | None, count: int = 2
    ) -> list[Credential]:
        """The closest alternatives to one named credential: same field, nearest level, best ranked."""
        field_facets = facets.model_copy(update={"domains": named.domains[:1], "credential_ids": []})
        ranked = rank(self.catalog, retrieved.credentials, field_facets, profile, Intent.RECOMMEND)
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

    def _asked(self, u: Understanding, cred: Credential, profile: Profile | None) -> composer.Asked | None:
        """What a question about one credential asks first, when it asks something in particular."""
        if u.aspect is None:
            return None
        return composer.Asked(
            aspect=u.aspect,
            have_years=stated_experience(u.facets, profile),
            hours_per_week=u.facets.hours_per_week or (profile.hours_per_week if profile else None),
            roles=self.catalog.occupations_using(cred.id),
        )

    def _info(
        self, question: str, u: Understanding, cred: Credential, sources: SourceList, asked: composer.Asked | None
    ) -> Answer:
        catalog = self.catalog
        successor = catalog.successor(cred) if cred.status is Status.RETIRED else None
        text = composer.compose_info(cred, successor, catalog.next_steps(cred.id), sources, asked)
        # A retired credential is never recommended as such: its successor stands in its place.
        return self._reply(question, u, text, resolve_retired(catalog, [Candidate(cred)], [cred.id]), sources)

    def _guidance_candidates(self, found: Sequence[IndexedChunk]) -> list[IndexedChunk]:
        """The sections a guidance answer may draw on: the best found, then the rest of the best guide.

        The search ranks sections by the question as a whole; the one on the aspect asked ("in terms of
        cost") is often a sibling of the best hit, so the composer sees the whole of that guide.
        """
        candidates = list(found[:GUIDANCE_FOUND])
        if candidates:
            seen = {c.id for c in candidates}
            candidates += [c for c in self.catalog.guide_chunks(candidates[0].record_id) if c.id not in seen]
        return candidates

    def _switch_guides(self, u: Understanding, retrieved: Retrieved) -> list[IndexedChunk]:
        catalog = self.catalog
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
                reason=composer.reason_line(c) if c.reasons else "",
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


def _needs_coding(occupation: Occupation, catalog: Catalog) -> bool:
    """Whether the role's usual pathway teaches programming: then the role itself needs it."""
    return any(step.credential in catalog.vocabulary.needs_coding for step in occupation.pathway)


def _occupation_for(catalog: Catalog, facets: Facets, retrieved: Retrieved) -> Occupation | None:
    """The role a career switch heads for when the question names none: the field's main role, else the nearest."""
    if facets.domains:
        occupation = occupation_for_field(catalog, facets.domains[0])
        if occupation is not None:
            return occupation
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
