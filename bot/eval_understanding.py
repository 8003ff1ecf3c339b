"""Scoring the understanding step on a file of labelled messages (the corpus format of ingest/corpus.py).

Readers side by side: two retrieval baselines that read a field only (the primary field of the first
credential that dense or lexical search finds, as the answer harness's baselines do), the rules alone,
the classifiers alone, and the advisor (rules and classifiers reconciled, as questions are really read). Intents are scored per label with
precision, recall and F1; fields by the primary field (or none). The classifiers answer in the
corpus's 13 intents; the rules and the advisor answer in the advisor's own, so the labels are mapped
to what the advisor does with them (a question about pay is answered as a career switch, for now).
Follow-ups are left out of the rules and advisor columns: alone, without the answer before them,
they have no right reading.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.advisor import Advisor
from bot.advisor.understanding import ANSWERED_AS, understand
from ingest.corpus import NO_FIELD, LabelledMessage, MessageIntent
from ingest.schema import Domain


@dataclass(frozen=True)
class Reading:
    intent: str
    field: str


def per_label(gold: Sequence[str], said: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 of each gold label."""
    scores: dict[str, dict[str, float]] = {}
    for label in sorted(set(gold)):
        hits = sum(1 for g, s in zip(gold, said, strict=True) if g == label and s == label)
        claimed = sum(1 for s in said if s == label)
        present = sum(1 for g in gold if g == label)
        precision = hits / claimed if claimed else 0.0
        recall = hits / present if present else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": precision, "recall": recall, "f1": f1, "n": present}
    return scores


def summary(
    gold_intents: list[str], said_intents: list[str], gold_fields: list[str], said_fields: list[str]
) -> dict[str, Any]:
    labels = per_label(gold_intents, said_intents)
    return {
        "n": len(gold_intents),
        "intent_macro_f1": sum(s["f1"] for s in labels.values()) / len(labels) if labels else 0.0,
        "intent_accuracy": sum(g == s for g, s in zip(gold_intents, said_intents, strict=True)) / len(gold_intents),
        "field_accuracy": sum(g == s for g, s in zip(gold_fields, said_fields, strict=True)) / len(gold_fields),
        "per_intent": labels,
        "confusion": {
            g: dict(Counter(s for gg, s in zip(gold_intents, said_intents, strict=True) if gg == g))
            for g in sorted(set(gold_intents))
        },
    }


def evaluate_understanding(advisor: Advisor, messages: Sequence[LabelledMessage]) -> dict[str, Any]:
    state = advisor.state
    classifier = advisor.classifier
    readings: dict[str, list[Reading]] = defaultdict(list)
    for message in messages:
        rules = understand(message.text, state.catalog, state.vocab)
        readings["rules"].append(Reading(rules.intent.value, _field_of(rules.facets.domains, rules.uncovered_field)))
        if classifier is None:
            continue
        # read by the model for the message's language, as the advisor reads questions
        prediction = advisor.reading_of(message.text) or advisor.predict(message.text)
        if prediction is None:
            continue
        readings["classifier"].append(Reading(prediction.intent[0], prediction.field[0]))
        both = understand(message.text, state.catalog, state.vocab, prediction=prediction)
        readings["advisor"].append(Reading(both.intent.value, _field_of(both.facets.domains, both.uncovered_field)))
    results: dict[str, Any] = {}
    gold_fields = [m.primary_field for m in messages]
    kept = [i for i, m in enumerate(messages) if m.intent is not MessageIntent.FOLLOWUP]
    for name, fields in _baseline_fields(advisor, [messages[i].text for i in kept]).items():
        results[name] = field_summary([gold_fields[i] for i in kept], fields)
    if "classifier" in readings:
        said = readings["classifier"]
        results["classifier"] = summary(
            [m.intent.value for m in messages], [r.intent for r in said], gold_fields, [r.field for r in said]
        )
    gold = [ANSWERED_AS[messages[i].intent].value for i in kept]
    for system in ("rules", "advisor"):
        if system in readings:
            said = [readings[system][i] for i in kept]
            results[system] = summary(
                gold, [r.intent for r in said], [gold_fields[i] for i in kept], [r.field for r in said]
            )
    return results


def _baseline_fields(advisor: Advisor, texts: Sequence[str]) -> dict[str, list[str]]:
    """The primary field of the first credential each retrieval baseline finds for each text."""
    state = advisor.state
    dense: list[str] = []
    lexical: list[str] = []
    for text in texts:
        query = " ".join(text.split())
        found = state.dense.search(advisor.embeddings.embed_query(query), 1, kinds=["credential"])
        dense.append(_primary_field(advisor, found[0].chunk.record_id) if found else NO_FIELD)
        found = state.lexical.search(query, 1, kinds=["credential"])
        lexical.append(_primary_field(advisor, found[0].chunk.record_id) if found else NO_FIELD)
    return {"dense-only": dense, "lexical-only": lexical}


def _primary_field(advisor: Advisor, credential_id: str) -> str:
    return advisor.state.catalog.credentials[credential_id].domains[0].value


def field_summary(gold_fields: list[str], said_fields: list[str]) -> dict[str, Any]:
    """A reader of fields only: no intent figures."""
    right = sum(g == s for g, s in zip(gold_fields, said_fields, strict=True))
    return {
        "n": len(gold_fields),
        "intent_macro_f1": None,
        "intent_accuracy": None,
        "field_accuracy": right / len(gold_fields),
        "per_intent": {},
        "confusion": {},
    }


def _field_of(domains: Sequence[Domain], uncovered: str | None) -> str:
    # a field the catalog lacks is what the answer is about: it says that field is not covered
    return uncovered or (domains[0].value if domains else NO_FIELD)


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def understanding_table(results: dict[str, Any]) -> str:
    systems = list(results)
    lines = [
        "| system | messages | intent macro-F1 | intent accuracy | field accuracy |",
        "|---|---|---|---|---|",
    ]
    for system in systems:
        r = results[system]
        figures = [_figure(r["intent_macro_f1"]), _figure(r["intent_accuracy"]), _figure(r["field_accuracy"])]
        lines.append(f"| {system} | {r['n']} | " + " | ".join(figures) + " |")
    systems = [s for s in systems if results[s]["per_intent"]]
    lines += [
        "",
        "| intent | " + " | ".join(f"{s} P / R / F1" for s in systems) + " |",
        "|---|" + "---|" * len(systems),
    ]
    labels = sorted({label for s in systems for label in results[s]["per_intent"]})
    for label in labels:
        cells = []
        for system in systems:
            score = results[system]["per_intent"].get(label)
            cells.append(
                "-"
                if score is None
                else f"{score['precision']:.2f} / {score['recall']:.2f} / {score['f1']:.2f} ({score['n']})"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    last = systems[-1]
    lines += ["", f"Confusion ({last}; gold -> said):"]
    for gold, said in results[last]["confusion"].items():
        wrong = {s: n for s, n in said.items() if s != gold}
        if wrong:
            lines.append(f"- {gold}: " + ", ".join(f"{s} {n}" for s, n in sorted(wrong.items(), key=lambda x: -x[1])))
    return "\n".join(lines)
