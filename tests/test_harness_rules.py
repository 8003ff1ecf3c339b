"""Rules of the test harness itself: a service the tests need may be missing on a laptop, never in CI."""

from __future__ import annotations

import pytest

from tests.support.databases import missing_service


def test_a_missing_service_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is unreachable"):
        missing_service("PostgreSQL is unreachable")


def test_a_missing_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and a service the tests need is missing: chroma"):
        missing_service("chroma is not installed")
