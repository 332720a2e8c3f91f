from __future__ import annotations

import pytest

from tests import factories as f


@pytest.fixture
def reference(core):
    """A department (reply in 10 days, manager with a mobile) and an agency."""
    core.upsert_department("RIGHTS", f.department(reply_days=10))
    core.upsert_agency("MOI", f.agency())
    return core
