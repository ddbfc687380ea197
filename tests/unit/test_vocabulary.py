"""The contract's vocabulary and the engine's are the same words (each keeps its own copy)."""

from __future__ import annotations

from typing import get_args

import pytest
from refmon.schemas import vocabulary as contract
from refmon.streams.engine import vocabulary as engine


@pytest.mark.parametrize("name", contract.__all__)
def test_the_contract_and_the_engine_share_each_closed_vocabulary(name: str) -> None:
    assert get_args(getattr(contract, name)) == get_args(getattr(engine, name))
