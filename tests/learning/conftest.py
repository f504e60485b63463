"""The generated datasets of ``tests.learning.support``, made once per session."""

from __future__ import annotations

import pytest

from tests.learning.support import Case, make_case


@pytest.fixture(scope="session")
def classification() -> Case:
    return make_case("classification")


@pytest.fixture(scope="session")
def regression() -> Case:
    return make_case("regression")
