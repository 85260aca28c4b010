"""Fixtures of the scanner tests: small slabs of the seeded anatomies (made once per module)."""

import pytest

from t2tcore.scanner.abdomen import abdomen
from t2tcore.scanner.chest import chest
from tests.scanner.helpers import ZA


@pytest.fixture(scope="module")
def abd():
    return abdomen(7, ZA)


@pytest.fixture(scope="module")
def ch():
    return chest(7, ZA)
