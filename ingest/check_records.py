"""Quick schema check of credential/occupation YAML files: python -m ingest.check_records FILE..."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from ingest.schema import Credential, Occupation


def main(argv: list[str]) -> int:
    failures = 0
    for name in argv:
        path = Path(name)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        model = Occupation if "occupations" in path.parts else Credential
        items = data if isinstance(data, list) else [data]
        for index, item in enumerate(items):
            try:
                model.model_validate(item)
            except ValidationError as error:
                failures += 1
                print(f"{path}[{index}] {item.get('id') if isinstance(item, dict) else '?'}: {error}")
        print(f"{path}: {len(items)} record(s) checked")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
