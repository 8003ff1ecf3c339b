"""Load and validate every file of the knowledge base.

Every problem is collected with its file, line and field so that one run reports them all, and
nothing is indexed while any remains.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ingest.schema import Credential, Guide, GuideMeta, GuideSection, Occupation, Status

logger = logging.getLogger(__name__)

# libyaml's parser reads the knowledge base about ten times faster than the pure-Python one; it
# ships in PyYAML's wheels, and the pure-Python loader remains for builds without it.
_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YamlLoader)


def _yaml_tree(text: str) -> yaml.Node | None:
    """The node tree, for the line numbers of problems: built only when there is a problem to place."""
    return yaml.compose(text, Loader=_YamlLoader)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class KnowledgeError(Exception):
    """Raised when the knowledge base does not validate; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class KnowledgeBase:
    credentials: dict[str, Credential] = field(default_factory=dict)
    occupations: dict[str, Occupation] = field(default_factory=dict)
    guides: dict[str, Guide] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # record key -> relative path

    @property
    def record_count(self) -> int:
        return len(self.credentials) + len(self.occupations) + len(self.guides)


def line_of(node: yaml.Node | None, loc: Iterable[int | str]) -> int | None:
    """Follow an error location (a pydantic one, or any path of keys and indexes) through the YAML node tree
    to a 1-based line, as far as it goes."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    # an unknown key is best reported where the key stands
                    child = value
                    line = key.start_mark.line + 1
                    break
        if child is None:
            return line
        node = child
        line = node.start_mark.line + 1
    return line


def _problems_from(
    error: ValidationError, rel: str, node: yaml.Node | None, prefix: Sequence[int | str]
) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = list(prefix) + list(item["loc"])
        field_name = ".".join(str(p) for p in item["loc"]) or "(record)"
        problems.append(Problem(rel, line_of(node, loc), field_name, item["msg"]))
    return problems


def _validate_list(model: type[BaseModel], path: Path, rel: str, problems: list[Problem]) -> list[BaseModel]:
    text = path.read_text(encoding="utf-8")
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problems.append(Problem(rel, mark.line + 1 if mark else None, "", f"invalid YAML: {error}"))
        return []
    items: list[Any]
    if isinstance(data, list):
        items, prefix_of = data, (lambda i: [i])
    elif isinstance(data, dict):
        items, prefix_of = [data], (lambda i: [])
    else:
        problems.append(Problem(rel, 1, "", "expected a mapping or a list of mappings"))
        return []
    records = []
    for index, item in enumerate(items):
        try:
            records.append(model.model_validate(item))
        except ValidationError as error:
            problems.extend(_problems_from(error, rel, _yaml_tree(text), prefix_of(index)))
    return records


def parse_guide(text: str, rel: str, problems: list[Problem]) -> Guide | None:
    """Split front matter from Markdown and cut the body into sections at `## ` headings."""
    if not text.startswith("---\n"):
        problems.append(Problem(rel, 1, "", "a guide must start with YAML front matter between '---' lines"))
        return None
    try:
        _, front, body = text.split("---\n", 2)
    except ValueError:
        problems.append(Problem(rel, 1, "", "front matter is not closed by a '---' line"))
        return None
    try:
        meta = GuideMeta.model_validate(_parse_yaml(front))
    except yaml.YAMLError as error:
        problems.append(Problem(rel, None, "", f"invalid YAML front matter: {error}"))
        return None
    except ValidationError as error:
        # the front matter starts on line 2 of the file
        for problem in _problems_from(error, rel, _yaml_tree(front), []):
            line = problem.line + 1 if problem.line else None
            problems.append(Problem(problem.path, line, problem.field, problem.message))
        return None
    sections = split_sections(body)
    if not sections:
        problems.append(Problem(rel, None, "", "the guide has no text"))
        return None
    return Guide(meta=meta, path=rel, sections=sections)


def split_sections(body: str) -> list[GuideSection]:
    """Cut Markdown into (heading, text) pieces at level-1 and level-2 headings."""
    sections: list[GuideSection] = []
    heading, lines = "", list[str]()

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(GuideSection(heading=heading, text=text))

    for line in body.splitlines():
        if line.startswith("# ") or line.startswith("## "):
            flush()
            heading, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line)
    flush()
    return sections


def load_knowledge(root: Path) -> KnowledgeBase:
    """Load and validate the whole knowledge base; raise KnowledgeError listing every problem."""
    problems: list[Problem] = []
    kb = KnowledgeBase()
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), None, "", "knowledge directory not found")])

    def rel(path: Path) -> str:
        return str(Path(root.name) / path.relative_to(root))

    def remember(kind: str, record_id: str, path: str, seen: dict[str, Any]) -> bool:
        if record_id in seen:
            problems.append(
                Problem(
                    path, None, "id", f"duplicate {kind} id {record_id!r} (also in {kb.paths[f'{kind}:{record_id}']})"
                )
            )
            return False
        kb.paths[f"{kind}:{record_id}"] = path
        return True

    for path in sorted((root / "credentials").glob("*.yaml")):
        for record in _validate_list(Credential, path, rel(path), problems):
            assert isinstance(record, Credential)
            if remember("credential", record.id, rel(path), kb.credentials):
                kb.credentials[record.id] = record
    for path in sorted((root / "occupations").glob("*.yaml")):
        for record in _validate_list(Occupation, path, rel(path), problems):
            assert isinstance(record, Occupation)
            if remember("occupation", record.id, rel(path), kb.occupations):
                kb.occupations[record.id] = record
    for path in sorted((root / "guides").glob("*.md")):
        guide = parse_guide(path.read_text(encoding="utf-8"), rel(path), problems)
        if guide and remember("guide", guide.meta.id, rel(path), kb.guides):
            kb.guides[guide.meta.id] = guide

    problems.extend(check_references(kb))
    if problems:
        raise KnowledgeError(problems)
    if not kb.credentials:
        raise KnowledgeError([Problem(rel(root / "credentials"), None, "", "no credential records found")])
    return kb


def check_references(kb: KnowledgeBase) -> list[Problem]:
    """Every id that one record names must exist in the catalog."""
    problems: list[Problem] = []
    known = kb.credentials
    for cred in known.values():
        path = kb.paths[f"credential:{cred.id}"]
        if cred.replaced_by and cred.replaced_by not in known:
            problems.append(Problem(path, None, f"{cred.id}.replaced_by", f"unknown credential {cred.replaced_by!r}"))
        if cred.replaced_by and known.get(cred.replaced_by, cred).status is Status.RETIRED:
            problems.append(Problem(path, None, f"{cred.id}.replaced_by", "the replacement is itself retired"))
        for ref in cred.prerequisite_ids:
            if ref not in known:
                problems.append(Problem(path, None, f"{cred.id}.prerequisite_ids", f"unknown credential {ref!r}"))
    for occ in kb.occupations.values():
        path = kb.paths[f"occupation:{occ.id}"]
        for step in occ.pathway:
            if step.credential not in known:
                problems.append(Problem(path, None, "pathway", f"unknown credential {step.credential!r}"))
    for guide in kb.guides.values():
        for ref in guide.meta.credentials:
            if ref not in known:
                problems.append(Problem(guide.path, None, "credentials", f"unknown credential {ref!r}"))
        for occ_ref in guide.meta.to_occupations:
            if occ_ref not in kb.occupations:
                problems.append(Problem(guide.path, None, "to_occupations", f"unknown occupation {occ_ref!r}"))
    return problems
