"""The grounded composer: a reply per intent, written only from retrieved records.

Every factual line carries the number of the source it came from. Prices and study hours are
shown as the catalog's typical ranges, with a reminder to check the provider when they vary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.advisor import passages
from bot.advisor.catalog import IndexedChunk
from bot.advisor.eligibility import eligibility, stated_experience, years_text
from bot.advisor.models import DEFAULT_HOURS_PER_WEEK, Facets, Profile
from bot.advisor.ranking import Candidate
from bot.advisor.sources import SourceList
from ingest.chunking import cost_text, hours_text
from ingest.corpus import UPCOMING_FIELDS
from ingest.schema import Credential, Level, Occupation, Status
from ingest.vocabulary import Aspect

CAPABILITIES = (
    "I help you choose certifications and micro-credentials and plan a career switch: ask me which "
    "certification fits a field (cloud, data, cybersecurity, project management, UX, marketing and more), "
    "to compare two credentials, what a credential costs and covers, or how to move from your current job "
    "into a new one."
)
_NO_PAY = "I don't have pay figures I could stand behind yet, so I won't guess at salaries."
NO_PAY_FIGURES = f"{_NO_PAY} What I can give you is the route into the role:"


@dataclass
class Composition:
    text: str
    recommendations: list[Candidate]


def first_sentence(text: str) -> str:
    parts = passages.SENTENCE_BREAK.split(" ".join(text.split()), maxsplit=1)
    return parts[0] if parts else text


def cost_line(cred: Credential) -> str:
    line = cost_text(cred)
    if cred.cost.max > 0:
        line += f" ({cred.cost.covers.rstrip('.')})"
    return line


def facts_line(cred: Credential) -> str:
    return f"{cred.level.value} · {hours_text(cred)} of study · {cost_line(cred)}"


def _weeks(hours: int, per_week: float) -> int:
    return max(1, round(hours / per_week))


def _varies_note(creds: Sequence[Credential]) -> str:
    if any(c.cost.varies or c.hours.min != c.hours.max for c in creds):
        return "Prices and study hours are typical ranges and vary; check the provider's page before you pay."
    return "Check the provider's page for the current price before you pay."


def reason_line(cand: Candidate) -> str:
    """Why a credential is listed, in one line: the ranking's first two reasons, else what it is."""
    reasons = list(dict.fromkeys(cand.reasons))
    if reasons:
        return "; ".join(reasons[:2])
    return first_sentence(cand.credential.summary)


def _numbered(cands: Sequence[Candidate], sources: SourceList) -> list[str]:
    lines = []
    for i, cand in enumerate(cands, 1):
        cred = cand.credential
        cite = sources.cite_credential(cred.id)
        lines.append(f"{i}. {cred.name} ({cred.provider}) {cite}")
        lines.append(f"   {facts_line(cred)}")
        lines.append(f"   Why: {reason_line(cand)}")
        if cand.replaced is not None:
            lines.append(
                f"   Note: {cand.replaced.name} was retired; this is its replacement. {sources.cite_credential(cand.replaced.id)}"
            )
        lines.append(f"   {cred.url}")
    return lines


def _scope_phrase(facets: Facets, profile: Profile | None) -> str:
    bits = []
    level = facets.level or (profile.level if profile else None)
    if level:
        bits.append(f"{level.value} level")
    if facets.free_only:
        bits.append("free")
    elif facets.budget_usd is not None:
        bits.append(f"up to about {facets.budget_usd:,.0f} USD")
    if facets.domains:
        return f"For {facets.domains[0].value.replace('-', ' ')}" + (f" ({', '.join(bits)})" if bits else "")
    return "For what you asked" + (f" ({', '.join(bits)})" if bits else "")


def compose_recommend(cands: Sequence[Candidate], facets: Facets, profile: Profile | None, sources: SourceList) -> str:
    top = list(cands[:3])
    if not top:
        return compose_unknown()
    lines = [f"{_scope_phrase(facets, profile)}, these fit best:", ""]
    lines += _numbered(top, sources)
    first = top[0].credential
    lines += [
        "",
        f"What to do first: start with {first.name}; {_prerequisite_phrase(first)} {sources.cite_credential(first.id)}",
    ]
    lines.append(_varies_note([c.credential for c in top]))
    return "\n".join(lines)


def _prerequisite_phrase(cred: Credential) -> str:
    """The first prerequisite as a clause, or a plain statement that there is none."""
    first = cred.prerequisites[0].strip() if cred.prerequisites else ""
    if not first or first.lower().startswith(("none", "no formal", "no prerequisites")):
        return "there are no formal prerequisites, so you can begin straight away."
    clause = first[0].lower() + first[1:]
    return f"before you book, note: {clause}" if clause.endswith(".") else f"before you book, note: {clause}."


# How many of the credentials left out of a comparison are named; the rest are counted.
LEFT_OUT_NAMED = 6


def compose_compare(
    cands: Sequence[Candidate],
    facets: Facets,
    profile: Profile | None,
    sources: SourceList,
    left_out: Sequence[Credential] = (),
) -> str:
    creds = [c.credential for c in cands]
    if len(creds) < 2:
        return compose_info(creds[0], None, [], sources) if creds else compose_unknown()
    lines = [f"Side by side: {' vs '.join(c.name for c in creds)}", ""]
    if left_out:
        lines[1:1] = [_left_out_note(len(creds), left_out)]
    for cred in creds:
        cite = sources.cite_credential(cred.id)
        lines.append(f"{cred.name} {cite}")
        lines.append(f"   Provider: {cred.provider}")
        lines.append(f"   Level: {cred.level.value}")
        lines.append(f"   Cost: {cost_line(cred)}")
        lines.append(f"   Study time: {hours_text(cred)}")
        prereq = "; ".join(cred.prerequisites) if cred.prerequisites else "none"
        lines.append(f"   Prerequisites: {prereq}")
        lines.append(f"   Renewal: {cred.renewal}")
        lines.append(f"   Suits: {first_sentence(cred.summary)}")
        if cred.status is Status.RETIRED:
            lines.append("   Status: retired, no longer available")
        lines.append("")
    lines.append("Verdict: " + _verdict(creds, facets, profile))
    lines.append(_varies_note(creds))
    return "\n".join(lines)


def _left_out_note(compared: int, left_out: Sequence[Credential]) -> str:
    names = ", ".join(c.name for c in left_out[:LEFT_OUT_NAMED])
    more = len(left_out) - LEFT_OUT_NAMED
    if more > 0:
        names += f" and {more} more"
    return (
        f"You named {compared + len(left_out)} credentials; I compare up to {compared} at a time, the first ones "
        f"you named, so these are left out: {names}. Ask again with those to compare them."
    )


def _verdict(creds: Sequence[Credential], facets: Facets, profile: Profile | None) -> str:
    level = facets.level or (profile.level if profile else None)
    budget = facets.budget_usd if facets.budget_usd is not None else (profile.budget_usd if profile else None)
    active = [c for c in creds if c.status is Status.ACTIVE] or list(creds)
    have = stated_experience(facets, profile)
    if have is None and level is Level.BEGINNER:
        have = 0.0  # a beginner has not yet worked the years some of these ask for
    out_of_reach = [c for c in active if eligibility(c, have).short_of_experience]
    if out_of_reach:
        return _experience_verdict(active, out_of_reach, have or 0.0, facets.experience_years is not None)
    demanding = [c for c in active if c.experience_years]
    if facets.experience_years is not None and demanding and len(demanding) < len(active):
        best = max(demanding, key=lambda c: (c.level.rank, c.experience_years))
        return (
            f"with {years_text(facets.experience_years)} of experience you meet what {best.name} asks for "
            f"({years_text(best.experience_years)}, if that experience is of the kind its prerequisites describe), "
            "so it is the one that goes further."
        )
    if level is not None:
        best = min(active, key=lambda c: (abs(c.level.rank - level.rank), c.cost.min))
        return f"at your {level.value} level, {best.name} is the better fit ({best.level.value} level)."
    if budget is not None:
        best = min(active, key=lambda c: c.cost.min)
        return f"on your budget, {best.name} costs least ({cost_text(best)})."
    domains = facets.domains or ([profile.target_domain] if profile and profile.target_domain else [])
    if domains:
        matching = [c for c in active if c.domains[0] in domains]
        if len(matching) == 1:
            return f"for {domains[0].value.replace('-', ' ')}, {matching[0].name} is the closer match."
    easier = min(active, key=lambda c: (c.level.rank, c.hours.min))
    harder = max(active, key=lambda c: (c.level.rank, c.hours.max))
    if easier.id == harder.id:
        return "they are close; pick the one whose provider you use or want to work with."
    return (
        f"if you are newer to the field or short on time, start with {easier.name}; "
        f"if you already have hands-on experience, {harder.name} goes further. Tell me your level and budget for a firmer answer."
    )


def _experience_verdict(
    active: Sequence[Credential], out_of_reach: Sequence[Credential], have: float, stated: bool
) -> str:
    """A verdict that never picks what the person cannot sit yet, and says when they could."""
    if not stated:
        experience = "as a beginner"
    elif have:
        experience = f"with {years_text(have)} of experience"
    else:
        experience = "with no work experience yet"
    later = "; ".join(
        f"{c.name} asks for at least {years_text(c.experience_years)}, so it is about "
        f"{years_text(eligibility(c, have).years_to_go)} away (see its prerequisites for which experience counts)"
        for c in out_of_reach
    )
    open_now = [c for c in active if c not in out_of_reach]
    if not open_now:
        return f"{experience}, none of these is open to you yet: {later}."
    best = max(open_now, key=lambda c: (c.level.rank, -c.cost.min))
    return f"{experience}, {best.name} is the one you can sit now. {later[0].upper()}{later[1:]}."


@dataclass(frozen=True)
class Asked:
    """What a question about one credential asks first, and what the answer to it can lean on."""

    aspect: Aspect
    have_years: float | None = None  # experience the person stated, if any
    hours_per_week: float | None = None
    roles: Sequence[Occupation] = ()  # occupations whose pathway includes the credential


def answer_first(cred: Credential, successor: Credential | None, asked: Asked) -> str:
    """The direct answer to what was asked ("is it worth it?", "can I sit it?"), before the facts."""
    aspect = asked.aspect
    level = f"{cred.level.value}-level {cred.credential_type.value.replace('-', ' ')}"
    if cred.status is Status.RETIRED and aspect is not Aspect.RENEWAL:
        return "No longer: it was retired" + (f", and {successor.name} replaces it." if successor else ".")
    if aspect is Aspect.ELIGIBILITY:
        return _eligibility_answer(cred, asked.have_years)
    if aspect is Aspect.STATUS:
        return f"Yes, it is still offered (as of {cred.last_verified.isoformat()})."
    if aspect is Aspect.COST:
        return f"It costs {cost_line(cred)}."
    if aspect is Aspect.DURATION:
        said = f"Plan on {hours_text(cred)} of study"
        if asked.hours_per_week:
            said += f"; at {asked.hours_per_week:g} hours a week that is about {_weeks(cred.hours.max, asked.hours_per_week)} weeks"
        return said + "."
    if aspect is Aspect.DIFFICULTY:
        said = f"It is {_a(level)}: most people need {hours_text(cred)} of study"
        if cred.experience_years:
            said += f", and it asks for at least {years_text(cred.experience_years)} of work experience first"
        return said + "."
    if aspect is Aspect.RENEWAL:
        return cred.renewal
    roles = ", ".join(o.title.lower() for o in asked.roles[:3])
    path = f" on the way to roles such as {roles}" if roles else ""
    if aspect is Aspect.JOB:
        return (
            f"Not on its own, as a rule: it is {_a(level)}{path}, and employers look for evidence beyond a "
            "certificate, such as projects and experience, so plan to pair it with some."
        )
    return (
        f"It depends on the role you want: it is {_a(level)}{path}, for {cost_text(cred)} and {hours_text(cred)} "
        "of study. It is worth it where job ads for your target role ask for it."
    )


def _a(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _eligibility_answer(cred: Credential, have: float | None) -> str:
    required = cred.experience_years
    if required:
        standing = eligibility(cred, have)
        asks = f"it asks for at least {years_text(required)} of work experience"
        if standing.short_of_experience and have is not None:
            return (
                f"Not yet: {asks}, and you mention {years_text(have)}, so about "
                f"{years_text(standing.years_to_go)} to go. The prerequisites below say which experience counts."
            )
        if have is not None:
            return (
                f"Yes, going by experience: {asks}, and you mention {years_text(have)}. "
                "The prerequisites below say which experience counts."
            )
        return f"Only with experience: {asks}. {cred.prerequisites[0] if cred.prerequisites else ''}".strip()
    # records write "None." or "None; <advice>" when nothing is required
    required_first = [p for p in cred.prerequisites if not re.match(r"none\b", p, re.I)]
    if required_first:
        return "There is no work-experience requirement; it does ask for: " + "; ".join(required_first)
    advice = [re.sub(r"^none\b[^;:]*[;:]\s*", "", p, flags=re.I) for p in cred.prerequisites]
    advice = [a[:1].upper() + a[1:] for a in advice if a and not re.match(r"none\b", a, re.I)]
    return " ".join(["Yes: it has no formal prerequisites, so anyone can sit it.", *advice])


def compose_info(
    cred: Credential,
    successor: Credential | None,
    following: Sequence[Credential],
    sources: SourceList,
    asked: Asked | None = None,
) -> str:
    cite = sources.cite_credential(cred.id)
    lines = [f"{cred.name} ({cred.provider}) {cite}"]
    if asked is not None:
        lines = [answer_first(cred, successor, asked), "", *lines]
    if cred.status is Status.RETIRED:
        if successor is not None:
            lines.append(
                f"It was retired and is no longer available; it was replaced by {successor.name}, "
                f"which is what to take instead. {sources.cite_credential(successor.id)}"
            )
        else:
            lines.append("It was retired and is no longer available, and there is no direct replacement.")
    else:
        lines.append(f"Status: active, still offered (as of {cred.last_verified.isoformat()}).")
    lines += [
        f"What it is: {cred.summary}",
        f"Type: {cred.credential_type.value.replace('-', ' ')}; level: {cred.level.value}",
        f"Study time: {hours_text(cred)}" + (f" ({cred.hours.note})" if cred.hours.note else ""),
        f"Cost: {cost_line(cred)}",
        f"Format: {', '.join(d.value for d in cred.delivery)}",
        f"Prerequisites: {'; '.join(cred.prerequisites) if cred.prerequisites else 'none'}",
        f"Covers: {', '.join(cred.skills)}",
        f"Renewal: {cred.renewal}",
        f"Official page: {cred.url}",
    ]
    if successor is not None:
        lines += [
            "",
            f"Instead: {successor.name} ({successor.provider}) · {facts_line(successor)} {sources.cite_credential(successor.id)}",
            f"   {successor.url}",
        ]
    elif following:
        nxt = ", ".join(f"{c.name} {sources.cite_credential(c.id)}" for c in following[:2])
        lines += ["", f"What comes next: {nxt}"]
    lines.append(_varies_note([cred]))
    return "\n".join(lines)


def compose_switch(
    occupation: Occupation | None,
    role: str | None,
    guide_sections: Sequence[IndexedChunk],
    pathway: Sequence[Candidate],
    profile: Profile | None,
    facets: Facets,
    question: str,
    sources: SourceList,
    skipped: Sequence[Candidate] = (),
) -> str:
    per_week = facets.hours_per_week or (profile.hours_per_week if profile else None)
    assumed = per_week is None
    per_week = per_week or DEFAULT_HOURS_PER_WEEK
    target = (
        occupation.title
        if occupation
        else (facets.domains[0].value.replace("-", " ") if facets.domains else "your new field")
    )
    lines = [f"Moving {'from ' + role + ' ' if role else ''}into {target}: a realistic plan.", ""]
    quotes = _SwitchQuotes(guide_sections, question, role, occupation, facets)
    brings = quotes.line("What you already bring", "strengths", "transferable", 2, sources)
    if brings:
        lines.append(brings)
    if occupation is not None:
        lines.append(
            f"What the role needs: {', '.join(occupation.core_skills[:6])}. {sources.cite_occupation(occupation.id)}"
        )
    gap = quotes.line("The gap to close", "gaps", "gap", 2, sources, for_target=True)
    if gap:
        lines.append(gap)
    lines += [
        "",
        f"Your pathway (at {per_week:g} hours a week{', an assumption; tell me your hours for a firmer plan' if assumed else ''}):",
    ]
    week = 0
    for i, cand in enumerate(pathway[:4], 1):
        cred = cand.credential
        lo, hi = _weeks(cred.hours.min, per_week), _weeks(cred.hours.max, per_week)
        span = f"{lo}" if lo == hi else f"{lo}-{hi}"
        lines.append(f"{i}. {cred.name} ({cred.provider}) {sources.cite_credential(cred.id)}")
        lines.append(f"   {facts_line(cred)} · about {span} weeks")
        lines.append(f"   Why: {reason_line(cand)}")
        week += round((cred.hours.min + cred.hours.max) / 2 / per_week)
    if pathway:
        months = max(1, round(week / 4.3))
        lines.append(f"All steps together: roughly {week} weeks (about {months} months) at that pace.")
    if skipped:
        names = ", ".join(f"{c.credential.name} {sources.cite_credential(c.credential.id)}" for c in skipped)
        lines.append(
            f"Left out: {names}: first steps that your technical background most likely covers already."
            " Take it anyway if the field's basics are new to you."
        )
    portfolio = quotes.line("Portfolio idea", "portfolio_ideas", "portfolio", 1, sources, for_target=True)
    if portfolio:
        lines += ["", portfolio]
    pitfall = quotes.line("Watch out for", "pitfalls", "pitfall", 1, sources)
    if pitfall:
        lines.append(pitfall)
    if pathway:
        lines.append(_varies_note([c.credential for c in pathway[:4]]))
    return "\n".join(lines)


class _SwitchQuotes:
    """The parts of a career-switch guide quoted in a plan, chosen for the question and the target role.

    Each part comes from the guide's field written to be quoted when it has one, else from the
    sentences of its section that stand on their own, and cites that section either way.
    """

    def __init__(
        self,
        sections: Sequence[IndexedChunk],
        question: str,
        role: str | None,
        occupation: Occupation | None,
        facets: Facets,
    ) -> None:
        self.by_heading = {c.meta.get("heading", "").lower(): c for c in sections}
        fields = [d.value for d in (occupation.domains if occupation else facets.domains)]
        target = [(f.replace("-", " "), 1.0) for f in fields]
        if occupation is not None:
            target += [(occupation.title, 1.0), *((skill, 0.3) for skill in occupation.core_skills)]
        # the guide is about the asker's current job throughout, so its words tell no item apart
        self.wanted = passages.wanted_terms(question, target, ignore=role or "")
        # the guide's other directions: a line about one of them is about someone else's switch
        others = sorted({d for c in sections for d in c.listed("domains")} - set(fields))
        self.avoid = passages.wanted_terms("", ((d.replace("-", " "), 1.0) for d in others), ignore=role or "")

    def line(
        self, label: str, field: str, heading_word: str, count: int, sources: SourceList, for_target: bool = False
    ) -> str:
        """One labelled line quoting the field (or its section's prose), cited to the section; '' without one.

        `for_target` leaves out what is about another of the guide's directions only.
        """
        section = _section(self.by_heading, heading_word)
        if section is None:
            return ""
        items = section.listed(field)
        if items:
            said = " ".join(passages.best_items(items, self.wanted, count, self.avoid, strict=for_target))
        else:
            said = passages.best_sentences(section.text, self.wanted, count)
        return f"{label}: {said} {sources.cite(section)}" if said else ""


def _section(by_heading: dict[str, IndexedChunk], word: str) -> IndexedChunk | None:
    for heading, chunk in by_heading.items():
        if word in heading:
            return chunk
    return None


# How much a guidance section's place in the search results counts, against its words.
_RETRIEVAL_PRIOR = (0.6, 0.3, 0.15)


def compose_guidance(chunks: Sequence[IndexedChunk], question: str, sources: SourceList) -> str:
    """An answer from guidance sections: the one on the aspect asked leads, the next ones add a point each."""
    if not chunks:
        return compose_unknown()
    wanted = passages.wanted_terms(question)
    pool = [passages.quotable_sentences(c.text) for c in chunks]
    weights = passages.rarity([passages.stems(s.text) for sentences in pool for s in sentences])
    scored: list[tuple[float, int, list[float]]] = []
    for rank, (chunk, sentences) in enumerate(zip(chunks, pool, strict=True)):
        # a guide's opening section is headed by its title, which says what the whole guide is about
        heading = passages.stems(chunk.meta.get("heading", "")) if chunk.meta.get("part", "0") != "0" else set()
        bonus = passages.HEADING_WEIGHT * wanted.score(heading, weights)
        scores = [wanted.score(passages.stems(s.text), weights) for s in sentences]
        prior = _RETRIEVAL_PRIOR[rank] if rank < len(_RETRIEVAL_PRIOR) else 0.0
        # a section on the aspect asked says something about it in more than one sentence
        fit = bonus + sum(sorted(scores, reverse=True)[:2]) + prior if sentences else -1.0
        scored.append((fit, rank, scores))
    order = sorted((s for s in scored if s[0] >= 0), key=lambda s: (-s[0], s[1]))
    if not order:
        return compose_unknown()
    _, lead_rank, lead_scores = order[0]
    lead = chunks[lead_rank]
    said = " ".join(s.text for s in passages.pick(pool[lead_rank], lead_scores, 3))
    lines = [f"{said} {sources.cite(lead)}"]
    points = []
    for _, rank, scores in order[1:]:
        best = passages.pick(pool[rank], scores, 1)
        if best and best[0].text not in said:
            points.append(f"- {best[0].text} {sources.cite(chunks[rank])}")
        if len(points) == 2:
            break
    if points:
        lines += ["", "Key points:", *points]
    return "\n".join(lines)


def compose_out_of_scope(injection: bool) -> str:
    if injection:
        return "I can't help with that. " + CAPABILITIES
    return "That's outside what I know about, sorry. " + CAPABILITIES


def compose_about_bot() -> str:
    return (
        "I'm a career advisor bot. "
        + CAPABILITIES
        + " My answers come from a curated catalog of real credentials, with their official links; /start saves"
        " your profile, /plan makes a week-by-week plan and /nudges sends a weekly reminder."
    )


def compose_cannot_do() -> str:
    return (
        "Sorry, that's something I can't do for you: I don't book exams, enroll you, apply for jobs or write "
        "documents. What I can do instead: " + CAPABILITIES
    )


def compose_uncovered_field(field: str) -> str:
    return (
        f"I don't cover {UPCOMING_FIELDS.get(field, field)} yet, so I'd rather not guess at credentials there. "
        + CAPABILITIES
    )


def compose_smalltalk(question: str) -> str:
    if re.search(r"\b(thanks?|thank you|thx|cheers)\b", question, re.I):
        return "You're welcome! Ask me any time about certifications or your next career step."
    if re.search(r"\b(bye|goodbye|see you)\b", question, re.I):
        return "Good luck with your learning! Come back whenever you want a next step."
    return (
        "Hi! "
        + CAPABILITIES
        + ' For example: "which cert for cloud?" or "I\'m in marketing, how do I become a data analyst?"'
    )


def role_needs_coding(occupation: Occupation) -> str:
    return (
        f"Honestly, {_a(occupation.title)} writes code: the usual path below teaches it step by step. If you "
        "would rather not code at all, ask me for credentials in this field that need no programming."
    )


NOT_SURE_OF_FIELD = (
    "I wasn't sure which field you meant, so these are my best guess. Pick a field below for a firmer answer."
)


def compose_pay_in_no_field() -> str:
    return (
        f"{_NO_PAY} Which role or field do you have in mind? Pick one below or name it, and I'll show you the "
        "route into it."
    )


def compose_which_field() -> str:
    return (
        "Which field are you aiming at? Credentials only make sense for a direction: tell me the field or the "
        'job you want, for example "which cert for cloud?" or "I\'m in marketing, how do I become a data '
        'analyst?". Your level, weekly time and budget help too, and /start saves them in your profile so '
        'that "what should I take next?" works on its own.'
    )


def compose_unknown_credential() -> str:
    return "I don't have that credential in my catalog, so I can't give you grounded facts about it. " + CAPABILITIES


def compose_unknown() -> str:
    return (
        "I don't know that: nothing in my catalog matches it well enough to give you a grounded answer. " + CAPABILITIES
    )
