"""Who owns a model name while trainings of it race."""

from __future__ import annotations

import pytest

from pipelines.db import User, model_owner, open_database
from pipelines.errors import ConflictError
from pipelines.models.ownership import Actor, ModelOwners
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings


def test_a_refused_concurrent_training_keeps_the_claim_the_other_training_relies_on(
    tracker: MlflowTracker, settings: Settings
) -> None:
    database = open_database(settings)
    try:
        with database.transaction() as session:
            user = User(username="racer", password_hash="x")
            session.add(user)
            session.flush()
            actor = Actor(user_id=user.id)
        owners = ModelOwners(database, tracker)
        # Worker A claims the new name, then finds worker B (same user) already training it.
        with pytest.raises(ConflictError), owners.training("contested", actor):
            raise ConflictError("model 'contested' is being trained already")
        with database.session() as session:
            assert model_owner(session, "contested") == user.id
        # Any other failure gives back a claim that call made.
        with pytest.raises(RuntimeError), owners.training("abandoned", actor):
            raise RuntimeError("training failed")
        with database.session() as session:
            assert model_owner(session, "abandoned") is None
    finally:
        database.close()
