"""Understanding a question: which intent, and which facets (domain, level, budget, roles...).

Rules over the knowledge base's own vocabulary; follow-up questions borrow the facets of the
previous turn. No language model is needed here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.advisor.amounts import Budget, budget_in, experience_years_in, weekly_hours_in
from bot.advisor.catalog import Catalog
from bot.advisor.matching import fields_named_in, occupation_named_in, provider_key, providers_named_in
from bot.advisor.models import Facets, Intent, Profile, Turn
from bot.advisor.spelling import credentials_spelled_like
from bot.advisor.vocabulary import Vocabulary, match_form
from ingest.classifier import Prediction
from ingest.corpus import NO_FIELD, MessageIntent
from ingest.schema import Domain, Level
from ingest.vocabulary import Aspect

_INJECTION = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier) (instructions|prompts?|rules)"
    r"|(system|hidden|initial) prompt|disregard (your|all|the) (instructions|rules)"
    r"|you are now|act as (an? )?(unrestricted|jailbroken|dan)|developer mode|reveal (your|the) (instructions|prompt)"
    r"|print (your|the) (instructions|prompt|rules)|jailbreak",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|yo|howdy|good (morning|afternoon|evening)|greetings|thanks?( you)?|thank you|thx|cheers|"
    r"bye|goodbye|see you|ok(ay)?|cool|great|nice|who are you|what can you do|what do you do|help|start)\b[\s!.?,]*"
    r"(there|bot|again|so much|a lot|!|\.)*\s*$",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\b(compare|comparison|versus|vs\.?|difference between|differences between|better than|which is better|or)\b", re.I
)
_STRONG_COMPARE = re.compile(r"\b(compare|comparison|versus|vs\.?|difference|differences|better)\b", re.I)
# Asking to weigh one named credential against the field: "alternatives to X", "how does X compare".
_ALTERNATIVES = re.compile(
    r"\b(alternatives?|similar (ones|certs?|certifications?|to)|instead of|other options|comparable|equivalents?|"
    r"competitors?|compare[sd]? (to|with) (other|similar)|how does .+ compare|versus the rest|vs (the )?others)\b",
    re.I,
)
_SWITCH = re.compile(
    r"\b(become an?|becoming an?|switch(ing)? (to|into|careers?)|transition(ing)? (to|into)|move (in)?to|moving (in)?to|"
    r"career change|change careers?|changing careers?|get into|getting into|break into|pivot(ing)? (to|into)|"
    r"career switch|retrain(ing)? as|work as an?|land (a|my first) job|start a career|career in)\b",
    re.I,
)
_CURRENT_ROLE = re.compile(
    r"(?:^\s*as an?|\bi am an?|i'?m an?|i am currently an?|i'?m currently an?|i work (?:in|as an?)|i'?ve been an?|"
    r"\bi(?:'?m| am) working as an?|\bworking as an?|\bmy (?:current )?(?:job|role|position) is(?: an?)?|"
    r"\bi'?ve worked as an?|\bi was an?|"
    r"\bi have been an?|\b\d+\+?\s*(?:years?|yrs?)\s+(?:as|in)(?:\s+an?)?|\bcoming from|\bmy background is(?: in)?|\bbackground in|\bcurrently (?:in|an?)|\bformer|\bex-)\s+"
    r"([a-z][a-z &/-]{2,40}?)(?=\s+(?:and|but|who|with|looking|wanting|for|in|at|,|\.|$)|[,.!?]|$)",
    re.I,
)
_INFO = re.compile(
    r"\b(what is|what's|what does|tell me (more )?about|worth|cost|price|how much|how long|how hard|"
    r"cover|covers|exam|prerequisites?|renew|renewal|expire|valid|retired|still|pass rate|difficult|syllabus|"
    r"details|info|information)\b",
    re.I,
)
_RECOMMEND = re.compile(
    r"\b(cert|certs|certification|certifications|certificate|certificates|credential|credentials|course|courses|"
    r"qualification|qualifications|badge|program|programme|options|recommend|suggest|best|which|what should|"
    r"where (do|should) i start|start with|learn|training|exam)\b",
    re.I,
)
_GUIDANCE = re.compile(
    r"\b(micro ?-?credentials?|badges?|linkedin|employer|employers|reimburs\w*|sponsor\w*|pay for|degree|degrees|"
    r"stack\w*|legit\w*|scam|worth it|value|accredit\w*|expire|renew\w*|continuing education|cpe|pdus?|"
    r"study tips?|study plan|how to study|exam tips?|proctor\w*|open badges?|credly|resume|cv|hiring|recruiters?|"
    r"self ?-?paced|flexib\w*|soft skills?|keep (my )?skills|stay current|up to date|choose|choosing)\b",
    re.I,
)
# Words that show a question is about learning, work or careers even when no field is named.
_IN_SCOPE = re.compile(
    r"\b(career|careers|job|jobs|role|roles|work|skill|skills|learn|learning|study|studying|exam|exams|cert\w*|"
    r"credential\w*|course\w*|qualification\w*|training|upskill\w*|reskill\w*|interview|portfolio|salary|"
    r"employ\w*|profession\w*|industry|tech|it|promotion|internship|apprentice\w*|bootcamp|plan|roadmap)\b",
    re.I,
)
_FOLLOW_UP = re.compile(
    r"^\s*(and|what about|how about|any|anything|something|ok|okay|also|instead|but|what if|those|these|them|it|that|"
    r"the (first|second|third|last|other|next)|more about|cheaper|free|shorter|easier|harder)\b",
    re.I,
)
_ORDINAL = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "last": -1,
    "top": 0,
    "number 1": 0,
    "number 2": 1,
    "number 3": 2,
    "#1": 0,
    "#2": 1,
    "#3": 2,
}
# User text reaches these, up to Telegram's 4,096 characters. A number may only start where a number starts
# (the look-behinds) and is taken whole (possessive `*+`): otherwise a long run of digits is tried from each of
# its positions, and each try backtracks through the rest of it, which is quadratic in the run's length.
_NEUTRAL = re.compile(r"\bvendor[- ]?(neutral|agnostic|independent)\b|\bnot tied to\b", re.I)


# Fields whose people already work hands-on with technology: a switch between them starts past the basics.
TECHNICAL_DOMAINS = frozenset(
    {
        Domain.CLOUD,
        Domain.DEVOPS,
        Domain.DATA_ANALYTICS,
        Domain.DATA_ENGINEERING,
        Domain.AI_ML,
        Domain.CYBERSECURITY,
        Domain.IT_SUPPORT,
        Domain.NETWORKING,
        Domain.SOFTWARE_DEVELOPMENT,
    }
)
_TECHNICAL_ROLE = re.compile(
    r"\b(engineer|developer|programmer|coder|sysadmin|system administrator|systems administrator|"
    r"(network|database|db|linux|windows|cloud|it) admin(istrator)?|devops|sre|architect|technician|data scientist)\b",
    re.I,
)
_NON_TECHNICAL = re.compile(r"\b(non[- ]?technical|sales engineer|no tech)", re.I)


def is_technical_role(role: str | None, vocab: Vocabulary) -> bool:
    """The person's current work is itself technical (developer, sysadmin, network engineer...)."""
    if not role or _NON_TECHNICAL.search(role):
        return False
    if _TECHNICAL_ROLE.search(role):
        return True
    return any(d in TECHNICAL_DOMAINS for d in fields_named_in(role, vocab, capital_it=False))


@dataclass
class Understanding:
    intent: Intent
    facets: Facets
    in_scope: bool
    injection: bool = False
    follow_up: bool = False
    referenced: list[str] = field(default_factory=list)  # credential ids picked by "the second one"
    guide_roles: list[str] = field(default_factory=list)  # career-switch guide ids for the current role
    query: str = ""  # the text to retrieve with (the question, enriched for follow-ups)
    uncovered_field: str | None = None  # a field the person asks about that the catalog has no credentials for
    field_guesses: list[Domain] = field(default_factory=list)  # covered fields the classifier finds likeliest
    asks_pay: bool = False  # a question about pay, answered for now by the route into the role
    aspect: Aspect | None = None  # what a question about one credential wants to know first
    field_unsure: bool = False  # neither the rules nor the classifiers could tell which field is meant

    @property
    def offers_fields(self) -> bool:
        """Whether to ask which field was meant, with the likeliest ones as choices, rather than guess alone."""
        return self.field_unsure and bool(self.field_guesses)


def asks_for_guidance(text: str) -> bool:
    """The question is about credentials in general (badges, employers, degrees, renewal...)."""
    return bool(_GUIDANCE.search(text))


# "I have my CCNA", "passed Security+", "with my AZ-900": the credential right after is one the person holds
_HELD_BEFORE = re.compile(
    r"(?:\b(?:i have|i ve got|i ve|ive got|ive|i got|got|just got|passed|i passed|hold|i hold|holding|earned|"
    r"completed|finished|done|did|cleared|already have|already did|already hold|with|after|having)"
    r"(?: (?:my|the|a|an|both|both the))?|\bmy) $"
)
# "CCNA done", "Security+ passed", "AZ-900 certified": the credential right before is one the person holds
_HELD_AFTER = re.compile(r"^ (?:done|passed|certified|in hand|holder|under my belt|already|cleared)\b")
# asking what comes after what is already held
_NEXT = re.compile(
    r"\b(next|now what|what now|then what|after (that|this|it)|move on|level up|step up|build on|beyond|"
    r"go from here|higher|more advanced|upgrade)\b"
)


def _held_credentials(form: str, vocab: Vocabulary, named: list[str]) -> list[str]:
    """Of the credentials named, those the question says the person already holds."""
    held: list[str] = []
    for start, name in vocab.credential_index.occurrences(form):
        ids = vocab.credential_forms[name]
        if not ids & set(named):
            continue
        before, after = form[max(0, start - 30) : start + 1], form[start + len(name) - 1 :]
        if _HELD_BEFORE.search(before) or _HELD_AFTER.match(after):
            held += [cid for cid in sorted(ids) if cid in named and cid not in held]
    return held


# How sure the field reading must be to overrule a credential named by one bare word
CONTEXT_FIELD_CONFIDENCE = 0.9


def _shared_providers(named: list[str], catalog: Catalog, vocab: Vocabulary) -> list[str]:
    keys = [provider_key(catalog.credentials[cid].provider, vocab) for cid in named]
    return [key for key in set(keys) if keys.count(key) > 1]


def _fits_context(
    cid: str, form: str, context_providers: list[str], prediction: Prediction, catalog: Catalog, vocab: Vocabulary
) -> bool:
    """Whether a credential the question names is meant, given the rest of the question.

    A name of two words or more, or with a digit in it, means its credential. One bare word may be
    something else too ("SAP" is the ERP vendor and an AWS exam code): it counts unless the question is
    surely about another field and does not name the credential's provider.
    """
    names = [name for name in vocab.forms_of_credential.get(cid, ()) if name in form]
    if any(len(name.split()) > 1 or any(ch.isdigit() for ch in name) for name in names):
        return True
    credential = catalog.credentials[cid]
    if provider_key(credential.provider, vocab) in context_providers:
        return True
    field, confidence = prediction.field
    return not (
        confidence >= CONTEXT_FIELD_CONFIDENCE
        and field != NO_FIELD
        and field not in {d.value for d in credential.domains}
    )


def _find_credentials(form: str, vocab: Vocabulary) -> list[str]:
    """Credential ids named in the question, longest name first, without overlapping matches."""
    hits = [
        (start, start + len(name), vocab.credential_forms[name])
        for start, name in vocab.credential_index.occurrences(form)
    ]
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    for start, end, ids in hits:
        # the spaces that pad each form may be shared by neighbouring names
        if any(start < t_end - 1 and t_start < end - 1 for t_start, t_end in taken):
            continue
        taken.append((start, end))
        found.extend((start, cid) for cid in sorted(ids))
    ordered: list[str] = []
    for _, cid in sorted(found):
        if cid not in ordered:
            ordered.append(cid)
    return ordered


def _find_level(form: str, vocab: Vocabulary) -> Level | None:
    for level in (Level.ADVANCED, Level.INTERMEDIATE, Level.BEGINNER):
        if any(f" {w} " in form for w in vocab.words.level_words(level)):
            return level
    return None


def _find_aspect(form: str, vocab: Vocabulary) -> Aspect | None:
    """What the question asks first: the aspect of its longest phrase, then of the one said first."""
    found = [
        (-len(phrase), form.find(f" {phrase} "), aspect)
        for aspect, phrases in vocab.words.aspects.items()
        for phrase in phrases
        if f" {phrase} " in form
    ]
    return min(found)[2] if found else None


def _is_level_word(text: str, vocab: Vocabulary) -> bool:
    """'I'm a beginner' says how far along someone is, not what they do."""
    form = match_form(text).strip()
    return form in vocab.words.level_answers or any(form in vocab.words.level_words(level) for level in Level)


def _narrows(budget: Budget | None, level: Level | None, text: str) -> bool:
    """The message itself sets a new limit: a budget, a level or weekly hours."""
    return budget is not None or level is not None or weekly_hours_in(text) is not None


def role_named_in(text: str, vocab: Vocabulary) -> str | None:
    """The job a sentence says someone has or had: "I work as a bank teller" -> "bank teller"."""
    match = _CURRENT_ROLE.search(text)
    if match is None or _is_level_word(match.group(1), vocab):
        return None
    return match.group(1).strip().lower()


def _find_roles(question: str, form: str, vocab: Vocabulary) -> tuple[str | None, list[str]]:
    role = role_named_in(question, vocab)
    guides: list[str] = []
    search_in = match_form(role) if role else form
    for name, guide_ids in vocab.roles_longest_first:
        if name in search_in:
            guides.extend(g for g in sorted(guide_ids) if g not in guides)
    return role, guides


def understand(
    question: str,
    catalog: Catalog,
    vocab: Vocabulary,
    profile: Profile | None = None,
    history: Sequence[Turn] = (),
    prediction: Prediction | None = None,
) -> Understanding:
    """What the question asks; `prediction` (the learned classifiers' reading) settles what the rules cannot."""
    text = " ".join(question.split())
    form = match_form(text)
    if _INJECTION.search(text):
        return Understanding(Intent.OUT_OF_SCOPE, Facets(), in_scope=False, injection=True, query=text)

    named = _find_credentials(form, vocab)
    domains = fields_named_in(text, vocab)
    no_code = [phrase for phrase in vocab.words.no_code if f" {phrase} " in form]
    if no_code:
        # "if I can't code" says what the person will not do, not that they ask about software development
        rest_of_it = form
        for phrase in no_code:
            rest_of_it = rest_of_it.replace(f" {phrase} ", " ")
        still = fields_named_in(rest_of_it, vocab, capital_it=False)
        domains = [d for d in domains if d in still or d is Domain.IT_SUPPORT]
    level = _find_level(form, vocab)
    budget = budget_in(text)
    providers = providers_named_in(text, vocab)
    if prediction is not None:
        # credentials of one provider named together give each other their context ("sap or saa first")
        context = [*providers, *_shared_providers(named, catalog, vocab)]
        named = [cid for cid in named if _fits_context(cid, form, context, prediction, catalog, vocab)]
    # words inside a credential's own name ("...for Becoming a Negotiator") say nothing about intent
    rest = form
    own_names = {name for cid in named for name in vocab.forms_of_credential.get(cid, ())}
    for name in sorted(own_names, key=vocab.credential_form_rank.__getitem__):
        rest = rest.replace(name, " " * len(name))  # same length keeps offsets valid
    switch = _SWITCH.search(rest)
    # `switch` was found in `rest`, whose offsets are those of `form`, that is of `match_form(text)`
    target = occupation_named_in(text, vocab, after=switch.start() if switch else 0)
    role, guide_roles = _find_roles(text, form, vocab)

    origin = fields_named_in(role, vocab, capital_it=False) if role else []
    if origin:
        # the field someone works in now is where they come from, not what they ask about
        domains = [d for d in domains if d not in origin] + [d for d in domains if d in origin]
    for cid in named:
        for domain in catalog.credentials[cid].domains[:1]:
            if domain not in domains:
                domains.append(domain)
    if target and not domains:
        domains.extend(catalog.occupations[target].domains[:1])
    if not domains and not named and profile is not None and _RECOMMEND.search(rest):
        # "which cert should I take next?" is about the goal the person set in their profile
        if profile.target_role:
            target = occupation_named_in(profile.target_role, vocab)
        if target:
            domains.extend(catalog.occupations[target].domains[:1])
        elif profile.target_domain is not None:
            domains.append(profile.target_domain)

    facets = Facets(
        domains=domains,
        level=level,
        budget_usd=budget.usd if budget else None,
        free_only=bool(budget and budget.free_only),
        hours_per_week=weekly_hours_in(text),
        experience_years=experience_years_in(text),
        no_code=bool(no_code),
        providers=providers,
        vendor_neutral=bool(_NEUTRAL.search(text)),
        current_role=role,
        technical_background=is_technical_role(role or (profile.current_role if profile else None), vocab),
        background_domains=origin,
        target_occupation=target,
        credential_ids=named,
    )

    last = history[-1] if history else None
    referenced = _ordinal_reference(form, last)
    follow_up = (
        last is not None
        and last.intent not in (Intent.OUT_OF_SCOPE, Intent.SMALLTALK)
        and (bool(referenced) or (bool(_FOLLOW_UP.search(text)) and not domains and not named and not target))
    )
    if follow_up and last is not None:
        facets = _inherit(facets, last.facets)

    intent = _intent(text, form, facets, named, referenced, bool(switch), bool(guide_roles), follow_up, last)
    held = _held_credentials(form, vocab, named)
    asks_next = bool(held) and bool(_NEXT.search(rest)) and set(named) <= set(held)
    if held and (asks_next or set(named) - set(held)):
        # what the person holds is where they start from, not what they ask about ("I passed Security+, is
        # it still valid?" is about Security+ all the same)
        facets.held_ids = held
        facets.credential_ids = [cid for cid in named if cid not in held]
    if follow_up and intent is Intent.CAREER_SWITCH and _narrows(budget, level, text):
        # "what about cheaper ones?" after a pathway asks for other credentials in that field, under the new
        # limit, rather than the same pathway again
        intent = Intent.RECOMMEND
    uncovered = None
    if prediction is not None and not referenced and not follow_up:
        if not named and _asks_about_a_credential(prediction):
            _add_misspelt_credentials(form, facets, catalog, vocab)
        intent, uncovered = _reconcile(text, intent, facets, prediction, catalog)
    if asks_next and intent not in _CONVERSATION:
        intent = Intent.RECOMMEND  # "I have my CCNA, what's next?" asks for what builds on it
    if facets.no_code and intent is Intent.CAREER_SWITCH and facets.domains and not facets.target_occupation:
        # "into AI if I can't code": a field's usual pathways assume programming where the field needs it;
        # what someone who does not code can start with is the credentials of that field that need none
        intent = Intent.RECOMMEND
    in_scope = intent not in (Intent.OUT_OF_SCOPE, Intent.CANNOT_DO)
    query = text
    if follow_up and last is not None:
        query = f"{last.question} {text}"
    return Understanding(
        intent,
        facets,
        in_scope,
        follow_up=follow_up,
        referenced=referenced,
        guide_roles=guide_roles,
        query=query,
        uncovered_field=uncovered,
        field_guesses=_field_guesses(prediction),
        asks_pay=intent is Intent.CAREER_SWITCH
        and prediction is not None
        and prediction.intent[0] == MessageIntent.PAY
        and prediction.intent[1] >= INTENT_CONFIDENCE,
        aspect=_find_aspect(form, vocab),
        field_unsure=prediction is not None
        and uncovered is None
        and not (facets.domains or facets.credential_ids or facets.target_occupation or facets.providers),
    )


FIELD_GUESS_FLOOR = 0.03  # fields less likely than this are not offered as a choice
FIELD_GUESSES = 4


def _field_guesses(prediction: Prediction | None) -> list[Domain]:
    if prediction is None:
        return []
    ranked = sorted(prediction.fields.items(), key=lambda item: -item[1])
    covered = [Domain(f) for f, p in ranked if p >= FIELD_GUESS_FLOOR and f in Domain._value2member_map_]
    return covered[:FIELD_GUESSES]


# How sure the classifiers must be before their reading replaces the rules'. Chosen on the validation
# file. The classifiers read intent far better than the rules on messages nobody wrote rules for; the
# rules keep what they read exactly: credential names, ordinals, follow-ups, and the facets.
INTENT_CONFIDENCE = 0.3
# A conversational reply instead of an answer about credentials takes more, even when a credential is
# named ("book my AZ-900 exam" asks for what the bot cannot do); a refusal, or "I don't know that
# credential", takes the most.
CONVERSATION_CONFIDENCE = 0.5
REFUSAL_CONFIDENCE = 0.6
# A field reading counts from 0.4 (0.3 reads a little better on the validation file, but below 0.4 the
# answer is better off asking which field was meant, with the likeliest ones offered).
FIELD_CONFIDENCE = 0.4
# to put another field before one the rules read in so many words ("agile certification for project managers")
FIELD_OVERRULE_CONFIDENCE = 0.7
# to drop the rules' field words from a question the classifier reads as naming no field at all
NO_FIELD_CONFIDENCE = 0.9
_DEFINITION = re.compile(r"^\s*(what|what's|whats)\s+(is|are|'s)?\s*(an?\s+)?[\w -]+\??\s*$", re.I)
_CONVERSATION = {Intent.SMALLTALK, Intent.ABOUT_BOT, Intent.CANNOT_DO, Intent.OUT_OF_SCOPE}
# What the advisor does with each reading of the classifiers; pay and skills questions are answered as
# a career switch until the advisor has pay and skills data of its own. A follow-up read without the
# turn before it has no meaning of its own, so the rules decide.
ANSWERED_AS: dict[MessageIntent, Intent] = {
    MessageIntent.RECOMMEND: Intent.RECOMMEND,
    MessageIntent.COMPARE: Intent.COMPARE,
    MessageIntent.CREDENTIAL_INFO: Intent.CREDENTIAL_INFO,
    MessageIntent.CAREER_SWITCH: Intent.CAREER_SWITCH,
    MessageIntent.SKILLS_GAP: Intent.CAREER_SWITCH,
    MessageIntent.PAY: Intent.CAREER_SWITCH,
    MessageIntent.JOB_AD: Intent.RECOMMEND,
    MessageIntent.GUIDANCE: Intent.GUIDANCE,
    MessageIntent.SMALLTALK: Intent.SMALLTALK,
    MessageIntent.ABOUT_BOT: Intent.ABOUT_BOT,
    MessageIntent.CANNOT_DO: Intent.CANNOT_DO,
    MessageIntent.OUT_OF_SCOPE: Intent.OUT_OF_SCOPE,
}


def _reconcile(
    text: str, intent: Intent, facets: Facets, prediction: Prediction, catalog: Catalog
) -> tuple[Intent, str | None]:
    """The intent and fields of the rules, corrected by the classifiers; and a field the catalog lacks.

    A confident field reading comes first: the rules see field words ("networking" in "do my LinkedIn
    networking") where the classifier reads what is asked about. The rules' other fields stay behind it.
    Named credentials keep their fields, and a named target role keeps its own.
    """
    intent = _reconciled_intent(text, intent, facets, prediction)
    field, confidence = prediction.field
    # fields read only from the person's current role say where they come from, not what they ask about
    asked_fields = [d for d in facets.domains if d not in facets.background_domains]
    if confidence < (FIELD_OVERRULE_CONFIDENCE if asked_fields else FIELD_CONFIDENCE):
        return intent, None
    if field == NO_FIELD:
        if intent in _CONVERSATION or (
            confidence >= NO_FIELD_CONFIDENCE and not facets.credential_ids and not facets.target_occupation
        ):
            # a remark that mentions a field asks nothing about it; nor does "switching" in "after switching
            # careers" name networking
            facets.domains = []
        return intent, None
    if facets.target_occupation and field not in {
        d.value for d in catalog.occupations[facets.target_occupation].domains
    }:
        return intent, None
    if field not in Domain._value2member_map_:  # a field the catalog has no credentials for yet
        if facets.credential_ids:
            return intent, None
        facets.domains = []
        if intent in _CONVERSATION:
            return intent, field
        # the rules cannot read a question about a field they have no words for; the classifier can
        return _confident_reading(prediction) or intent, field
    domain = Domain(field)
    facets.domains = [domain, *[d for d in facets.domains if d != domain]]
    return intent, None


def _asks_about_a_credential(prediction: Prediction) -> bool:
    return _confident_reading(prediction) in (Intent.CREDENTIAL_INFO, Intent.COMPARE)


def _add_misspelt_credentials(form: str, facets: Facets, catalog: Catalog, vocab: Vocabulary) -> None:
    """A question about a credential whose name the exact matcher missed: look for a misspelt one."""
    spelled = credentials_spelled_like(form, vocab)
    facets.credential_ids = spelled
    for cid in spelled:
        for domain in catalog.credentials[cid].domains[:1]:
            if domain not in facets.domains:
                facets.domains.append(domain)


def _confident_reading(prediction: Prediction) -> Intent | None:
    """The advisor's intent for the classifiers' reading, when they are sure enough of it."""
    label, confidence = prediction.intent
    return ANSWERED_AS.get(MessageIntent(label)) if confidence >= INTENT_CONFIDENCE else None


def _reconciled_intent(text: str, intent: Intent, facets: Facets, prediction: Prediction) -> Intent:
    said = _confident_reading(prediction)
    if said is None:
        return intent
    label, confidence = prediction.intent
    named = len(facets.credential_ids)
    if said in _CONVERSATION:
        needed = CONVERSATION_CONFIDENCE
        if said is Intent.OUT_OF_SCOPE:
            needed = REFUSAL_CONFIDENCE
        elif intent is Intent.OUT_OF_SCOPE:
            # the rules found nothing to answer: a friendly reply costs less than a refusal
            needed = INTENT_CONFIDENCE
        return said if confidence >= needed else intent
    if said is Intent.CREDENTIAL_INFO and not named and confidence < REFUSAL_CONFIDENCE:
        return intent  # with no name found, the answer would be "I don't know that credential": be sure first
    if named and intent is Intent.COMPARE and label != MessageIntent.JOB_AD:
        # credentials named and weighed against each other: the surest signal there is; a pasted job ad
        # names several too, and asks what to take for the job
        return intent
    field, field_confidence = prediction.field
    has_field = bool(facets.domains or facets.target_occupation) or (
        field != NO_FIELD and field_confidence >= FIELD_CONFIDENCE
    )
    if said is Intent.RECOMMEND and intent is Intent.GUIDANCE and not has_field and _DEFINITION.match(text):
        return intent  # "what are micro-credentials?" asks what something is, not for a list of credentials
    if said is Intent.COMPARE and not named:
        # weighing options the catalog does not name ("green belt or straight to black belt?"): what the
        # catalog has in that field is the honest answer, or that the field is not covered
        return Intent.RECOMMEND if has_field and intent is not Intent.GUIDANCE else intent
    if said is Intent.CAREER_SWITCH and not (has_field or facets.current_role or intent is Intent.CAREER_SWITCH):
        if label == MessageIntent.PAY:
            return said  # a pay question in no field is answered plainly, and asked which field it is about
        return Intent.GUIDANCE if intent in _CONVERSATION else intent
    # a question about a credential the catalog lacks stays one: the answer says it is not known
    return said


def _ordinal_reference(form: str, last: Turn | None) -> list[str]:
    if last is None or not last.recommendation_ids:
        return []
    if (
        not re.search(r"\b(one|option|cert|certification|credential|recommendation|choice)\b", form)
        and " it " not in form
    ):
        return []
    picked: list[tuple[int, str]] = []
    for word, index in _ORDINAL.items():
        position = form.find(f" {word} ")
        if position != -1 and (index < len(last.recommendation_ids) or index == -1):
            cid = last.recommendation_ids[index]
            if cid not in (c for _, c in picked):
                picked.append((position, cid))
    if picked:
        # "the first and the third" refers to both, in the order they were said
        return [cid for _, cid in sorted(picked)]
    if re.search(r" (it|that one|this one) ", form):
        return [last.recommendation_ids[0]]
    return []


def _inherit(facets: Facets, previous: Facets) -> Facets:
    """A follow-up keeps what the last turn asked for unless it says otherwise."""
    merged = previous.model_copy()
    for name in ("level", "budget_usd", "hours_per_week", "experience_years", "current_role", "target_occupation"):
        value = getattr(facets, name)
        if value is not None:
            setattr(merged, name, value)
    merged.technical_background = facets.technical_background or previous.technical_background
    merged.background_domains = facets.background_domains or previous.background_domains
    merged.free_only = facets.free_only or (previous.free_only and facets.budget_usd is None)
    if facets.domains:
        merged.domains = facets.domains
    if facets.providers:
        merged.providers = facets.providers
    merged.vendor_neutral = facets.vendor_neutral or previous.vendor_neutral
    merged.no_code = facets.no_code or previous.no_code
    merged.credential_ids = facets.credential_ids
    return merged


def _intent(
    text: str,
    form: str,
    facets: Facets,
    named: list[str],
    referenced: list[str],
    switch: bool,
    known_role: bool,
    follow_up: bool,
    last: Turn | None,
) -> Intent:
    if _GREETING.match(text) and not named and not facets.domains:
        return Intent.SMALLTALK
    if referenced:
        return Intent.COMPARE if _STRONG_COMPARE.search(text) and len(referenced) > 1 else Intent.CREDENTIAL_INFO
    if len(named) >= 2 and _COMPARE.search(text):
        return Intent.COMPARE
    if len(named) == 1 and _ALTERNATIVES.search(text):
        return Intent.COMPARE
    if switch and (facets.target_occupation or facets.domains or known_role):
        return Intent.CAREER_SWITCH
    if facets.current_role and facets.target_occupation:
        return Intent.CAREER_SWITCH
    if len(named) == 1 or (named and _INFO.search(text) and not _RECOMMEND.search(text)):
        return Intent.CREDENTIAL_INFO
    if _GUIDANCE.search(text) and not facets.domains and not named:
        return Intent.GUIDANCE
    if facets.domains or facets.target_occupation:
        return Intent.RECOMMEND
    if follow_up and last is not None:
        return (
            Intent.RECOMMEND if last.intent in (Intent.RECOMMEND, Intent.CAREER_SWITCH, Intent.COMPARE) else last.intent
        )
    if _GUIDANCE.search(text):
        return Intent.GUIDANCE
    if _IN_SCOPE.search(text) or _RECOMMEND.search(text):
        return Intent.GUIDANCE
    return Intent.OUT_OF_SCOPE
