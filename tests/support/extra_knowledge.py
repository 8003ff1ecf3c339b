"""Knowledge the small fixture base lacks, for tests that change the knowledge and rebuild the index."""

from __future__ import annotations

import re
from pathlib import Path

# a real credential the fixture knowledge lacks, added to it by the tests
AZ_104 = """
- id: microsoft-azure-administrator-associate
  name: "Microsoft Certified: Azure Administrator Associate"
  provider: Microsoft
  credential_type: certification
  codes: [AZ-104]
  aliases: [Azure Administrator]
  domains: [cloud]
  level: intermediate
  hours: {min: 60, max: 120}
  cost: {min: 165, max: 165, currency: USD, covers: "Exam fee in the United States."}
  delivery: [online-proctored, test-center]
  prerequisites: []
  skills: [Azure identities and governance, storage, compute, virtual networking, monitoring]
  occupations: ["15-1299.08"]
  url: https://learn.microsoft.com/credentials/certifications/azure-administrator/
  renewal: "Renewed yearly with a free online assessment."
  last_verified: 2026-11-29
  summary: "An associate Microsoft exam on running Azure subscriptions, networks, storage and compute."
"""
AZ_104_ID = "microsoft-azure-administrator-associate"


# added to every credential summary by `mark_every_summary`, so a test can tell which index it reads
MARK = "Checked again by the tests."


def mark_every_summary(knowledge: Path) -> None:
    """Change every credential's summary, so the next ingest re-embeds all their chunks."""
    for path in (knowledge / "credentials").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r'(?m)^(  summary: ")', rf"\1{MARK} ", text), encoding="utf-8")
