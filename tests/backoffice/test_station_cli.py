"""`flask station credential NAME` registers a station (make run's station-1) or rotates its credential,
and `flask station revoke NAME` stops its agent."""
from __future__ import annotations

import uuid

from models import StaffRole
from station import credentials
from tests.conftest import add_staff


def signs_in(db_session, credential: str) -> str | None:
    """The name of the station the credential signs in, or None."""
    station = credentials.authenticate(db_session, f"Bearer {credential.strip()}")
    return station.name if station else None


def test_a_credential_registers_the_station_then_rotates_it_and_revoke_stops_its_agent(app, db_session, tmp_path):
    add_staff(db_session, StaffRole.ADMIN)
    runner, name, path = app.test_cli_runner(), f"desk-{uuid.uuid4().hex[:4]}", tmp_path / "agent.credential"
    first = runner.invoke(args=["station", "credential", name])
    assert first.exit_code == 0, first.output
    assert signs_in(db_session, first.output) == name

    rotated = runner.invoke(args=["station", "credential", name, "--file", str(path)])
    assert rotated.exit_code == 0 and str(path) in rotated.output
    assert signs_in(db_session, first.output) is None and signs_in(db_session, path.read_text()) == name
    kept = runner.invoke(args=["station", "credential", name, "--file", str(path), "--if-missing"])
    assert "already" in kept.output and signs_in(db_session, path.read_text()) == name

    assert runner.invoke(args=["station", "revoke", name]).exit_code == 0
    assert signs_in(db_session, path.read_text()) is None
    unknown = runner.invoke(args=["station", "revoke", f"{name}-x"])
    assert unknown.exit_code != 0 and "no station" in unknown.output
