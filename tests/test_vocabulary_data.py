"""The word lists in knowledge/vocabulary.yaml: the shipped file holds, every rule rejects a bad file, and the
provider names derived from the catalog name the right providers and no one in ordinary sentences."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.advisor.catalog import Catalog
from bot.advisor.matching import provider_key, providers_named_in
from bot.advisor.vocabulary import Vocabulary
from ingest.providers import derive_names
from ingest.vocabulary import VOCABULARY_FILE, VocabularyError, WordLists, load_vocabulary
from tests.conftest import REAL_KNOWLEDGE
from tests.support.catalogs import SHIPPED_VOCABULARY, catalog_of

Data = dict[str, Any]

# The keys profiles, rankings and plans compared before the keys were derived: they must not change.
ESTABLISHED_KEYS = [
    "amazon",
    "microsoft",
    "google",
    "cisco",
    "oracle",
    "red hat",
    "salesforce",
    "hubspot",
    "meta",
    "ibm",
    "comptia",
    "pmi",
    "isc2",
    "isaca",
    "scrum alliance",
    "scrum.org",
    "tableau",
    "databricks",
    "snowflake",
    "hashicorp",
    "linux foundation",
    "github",
    "iiba",
    "shrm",
    "hrci",
    "giac",
    "ec-council",
    "offsec",
    "peoplecert",
    "freecodecamp",
]


@pytest.fixture(scope="module")
def real() -> Catalog:
    return catalog_of(REAL_KNOWLEDGE)


@pytest.fixture(scope="module")
def vocab(real: Catalog) -> Vocabulary:
    return real.vocabulary


def providers_of(catalog: Catalog) -> list[str]:
    return [c.provider for c in catalog.credentials.values()]


def shipped() -> Data:
    data = yaml.safe_load(SHIPPED_VOCABULARY.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def written(tmp_path: Path, data: Data) -> Path:
    path = tmp_path / VOCABULARY_FILE
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def problems_of(path: Path, providers: list[str] | None = None) -> list[str]:
    with pytest.raises(VocabularyError) as raised:
        load_vocabulary(path, providers)
    return raised.value.problems


# --- the shipped file ----------------------------------------------------------------------------


def test_the_shipped_vocabulary_holds_with_the_catalog(real: Catalog) -> None:
    words = load_vocabulary(SHIPPED_VOCABULARY, providers_of(real))
    assert isinstance(words, WordLists)
    assert "product owner" in words.fields[next(iter(words.shared_field_phrases["product owner"]))]


def test_every_provider_of_the_catalog_is_known(real: Catalog, vocab: Vocabulary) -> None:
    unknown = [p for p in set(providers_of(real)) if not providers_named_in(p, vocab)]
    assert unknown == []


# --- each rule rejects a bad file -----------------------------------------------------------------


def _set(path: str, value: object) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def _delete(section: str, key: str) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        del data[section][key]

    return change


def _append(section: str, key: str | None, value: str) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        (data[section] if key is None else data[section][key]).append(value)

    return change


def _both(*changes: Callable[[Data], None]) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        for one in changes:
            one(data)

    return change


BAD_FILES: dict[str, tuple[Callable[[Data], None], str]] = {
    "unknown field": (_set("fields.clould", ["cloud computing"]), r"fields\.clould"),
    "field without a list": (_delete("fields", "hr"), r"no phrases for the field 'hr'"),
    "unknown level": (_set("levels.guru", ["guru"]), r"levels\.guru"),
    "level without a list": (_delete("levels", "intermediate"), r"no phrases for the level 'intermediate'"),
    "empty phrase": (_append("fields", "cloud", " "), r"fields\.cloud\.\d+: .*empty phrase"),
    "phrase not in match form": (
        _append("levels", "beginner", "Non-Technical"),
        r"levels\.beginner\.\d+: .*'Non-Technical' in match form, as 'non technical'",
    ),
    "phrase twice in a list": (_append("fields", "devops", "docker"), r"fields\.devops\.\d+: 'docker' is listed twice"),
    "phrase twice in a plain list": (
        _append("too_generic", None, "cloud"),
        r"too_generic\.\d+: 'cloud' is listed twice",
    ),
    "phrase in two fields": (
        _both(_append("fields", "hr", "payroll software"), _append("fields", "sales-crm", "payroll software")),
        r"fields\.hr\.\d+: 'payroll software' is listed in several fields \(hr, sales-crm\)",
    ),
    "shared phrase in other fields": (
        _set("shared_field_phrases.product owner", ["agile", "leadership"]),
        r"shared_field_phrases\.product owner: 'product owner' is not in exactly these fields",
    ),
    "phrase in two levels": (
        _append("levels", "advanced", "junior"),
        r"'junior' is under level 'beginner' and 'advanced'",
    ),
    "provider name under two keys": (
        _append("providers", "microsoft", "gcp"),
        r"providers\.google\.1: 'gcp' is under provider key 'microsoft' and 'google'",
    ),
    "level answer that is a level word": (
        _append("level_answers", None, "novice"),
        r"level_answers\.\d+: 'novice' is already a level word",
    ),
    "unknown list": (_set("synonyms", ["x"]), r"synonyms: Extra inputs are not permitted"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_each_rule_rejects_a_bad_file_naming_the_file_and_entry(case: str, tmp_path: Path) -> None:
    change, expected = BAD_FILES[case]
    data = shipped()
    change(data)
    path = written(tmp_path, data)
    problems = problems_of(path)
    assert any(re.search(expected, p) for p in problems), problems
    assert all(p.startswith(f"{path}:") for p in problems), problems


def test_a_problem_names_the_line_of_the_entry(tmp_path: Path) -> None:
    path = written(tmp_path, shipped())
    lines = path.read_text(encoding="utf-8").splitlines()
    docker = lines.index("  - docker") + 1
    text = "\n".join([*lines[:docker], "  - docker", *lines[docker:]]) + "\n"
    path.write_text(text, encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:{docker + 1}: fields.devops."), problem


def test_invalid_yaml_and_a_missing_file_are_named(tmp_path: Path) -> None:
    path = tmp_path / VOCABULARY_FILE
    path.write_text("fields: [unclosed\n", encoding="utf-8")
    assert re.match(rf"{re.escape(str(path))}:\d+: invalid YAML", problems_of(path)[0])
    assert "missing" in problems_of(tmp_path / "nowhere.yaml")[0]


CATALOG_RULES: dict[str, tuple[Callable[[Data], None], str]] = {
    "provider key not in the catalog": (
        _set("providers.amazin", ["amazon prime"]),
        r"providers\.amazin: 'amazin' is not the key of any provider in the catalog",
    ),
    "product vendor not a provider key": (
        _append("product_vendors", None, "initech"),
        r"product_vendors\.\d+: 'initech' is not a provider key",
    ),
    "capitalised name of no provider": (
        _append("capitalised_provider_names", None, "banana"),
        r"capitalised_provider_names\.\d+: 'banana' is not a name of any provider",
    ),
}


@pytest.mark.parametrize("case", CATALOG_RULES)
def test_provider_entries_must_be_the_catalogs(case: str, tmp_path: Path, real: Catalog) -> None:
    change, expected = CATALOG_RULES[case]
    data = shipped()
    change(data)
    path = written(tmp_path, data)
    load_vocabulary(path)  # the file itself is well formed: only the catalog says it is wrong
    problems = problems_of(path, providers_of(real))
    assert any(re.search(expected, p) for p in problems), problems


def test_a_derived_name_two_providers_claim_is_a_problem(tmp_path: Path) -> None:
    providers = ["Acme (Acme Learning)", "Acme Learning"]
    data = shipped()
    data.update(providers={}, product_vendors=[], capitalised_provider_names=[])
    problems = problems_of(written(tmp_path, data), providers)
    assert any("'acme learning' is a name of both" in p for p in problems), problems


# --- python -m ingest ---------------------------------------------------------------------------


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(REAL_KNOWLEDGE, target, ignore=shutil.ignore_patterns("understanding"))
    return target


def test_ingest_check_fails_on_a_bad_vocabulary_and_writes_nothing(
    knowledge_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ingest.__main__ import main

    chroma = tmp_path / "chroma"
    assert main(["--knowledge", str(knowledge_copy), "--chroma-path", str(chroma), "--check"]) == 0
    data = shipped()
    data["fields"]["devops"].append("docker")
    written(knowledge_copy, data)
    capsys.readouterr()
    for check in (["--check"], []):
        assert main(["--knowledge", str(knowledge_copy), "--chroma-path", str(chroma), *check]) == 1
        err = capsys.readouterr().err
        assert f"{knowledge_copy / VOCABULARY_FILE}:" in err and "'docker' is listed twice" in err, err
        assert "problem(s) found in the vocabulary; nothing was written" in err
    assert not chroma.exists()


# --- provider names derived from the catalog -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("PMI", "pmi"),
        ("Project Management Institute", "pmi"),
        ("IIBA", "iiba"),
        ("Fortinet", "fortinet"),
        ("EC-Council", "ec-council"),
        ("Snowflake", "snowflake"),
        ("anything from the Chartered Institute of Personnel and Development?", "cipd"),
        ("Offensive Security certs", "offsec"),
        ("is AXELOS still around", "peoplecert"),
        ("Apple", "apple"),
    ],
)
def test_a_derived_provider_name_names_its_provider(text: str, key: str, vocab: Vocabulary) -> None:
    assert providers_named_in(text, vocab) == [key]


@pytest.mark.parametrize(
    "sentence",
    [
        "I ate an apple before my shift",
        "that question is a bit meta",
        "she went to see the oracle",
        "I'm not a special snowflake",
        "I went to university and studied at a business school",
        "our group training is online at the academy",
        "the institute of technology has a foundation year",
        "I'm a pragmatic person who likes product work",
        "my team uses kanban at work",
        "what certification should I get next",
    ],
)
def test_an_ordinary_sentence_names_no_provider(sentence: str, vocab: Vocabulary) -> None:
    assert providers_named_in(sentence, vocab) == []


def test_providers_come_in_the_order_they_are_named(vocab: Vocabulary) -> None:
    assert providers_named_in("Azure, then AWS", vocab) == ["microsoft", "amazon"]
    assert providers_named_in("Meta or Google", vocab) == ["meta", "google"]


@pytest.mark.parametrize(
    ("provider", "key"),
    [
        ("Amazon Web Services (AWS)", "amazon"),
        ("Google Cloud", "google"),
        ("Google (on Coursera)", "google"),
        ("HubSpot Academy", "hubspot"),
        ("Cloud Native Computing Foundation (CNCF) / The Linux Foundation", "linux foundation"),
        ("Tableau (Salesforce)", "tableau"),
        ("GitHub (Microsoft)", "github"),
        ("HashiCorp (an IBM company)", "hashicorp"),
        ("PeopleCert (owner of ITIL, formerly AXELOS)", "peoplecert"),
        ("Project Management Institute (PMI)", "pmi"),
        ("HPE Juniper Networking (Juniper Networks)", "juniper"),
    ],
)
def test_a_catalog_provider_has_its_own_key(provider: str, key: str, vocab: Vocabulary) -> None:
    assert provider_key(provider, vocab) == key


def test_established_keys_stay_and_every_key_names_itself(vocab: Vocabulary) -> None:
    keys = set(vocab.provider_keys.values())
    assert set(ESTABLISHED_KEYS) <= keys
    assert {key: provider_key(key, vocab) for key in keys} == {key: key for key in keys}


@pytest.mark.parametrize(
    ("provider", "key", "names"),
    [
        ("Google (on Coursera)", "google", ("google",)),
        ("Tableau (Salesforce)", "tableau", ("tableau",)),
        ("OffSec (Offensive Security)", "offsec", ("offsec", "offensive security")),
        ("PeopleCert (owner of ITIL, formerly AXELOS)", "peoplecert", ("peoplecert", "axelos")),
        ("Scaled Agile, Inc.", "scaled agile", ("scaled agile",)),
        ("Nielsen Norman Group (NN/g)", "nn/g", ("nielsen norman group", "nn g")),
        (
            "UXQB (International Usability and User Experience Qualification Board)",
            "uxqb",
            ("uxqb", "international usability and user experience qualification board"),
        ),
    ],
)
def test_names_are_derived_from_how_the_catalog_writes_a_provider(
    provider: str, key: str, names: tuple[str, ...]
) -> None:
    derived = derive_names(provider)
    assert (derived.key, derived.names) == (key, names)


def test_a_bot_away_from_its_knowledge_folder_uses_the_shipped_word_lists(tmp_path: Path) -> None:
    from bot.services import SHIPPED_VOCABULARY, word_lists_path

    assert word_lists_path(tmp_path) == SHIPPED_VOCABULARY and SHIPPED_VOCABULARY.is_file()
    own = tmp_path / "vocabulary.yaml"
    own.write_text(SHIPPED_VOCABULARY.read_text(encoding="utf-8"), encoding="utf-8")
    assert word_lists_path(tmp_path) == own  # a knowledge folder's own lists come first
