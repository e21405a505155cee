"""Issue 18, item 3: admins add staff, change their roles and assign their programs and
stores in the console; every action is audited; other roles get 403; new passwords follow
the rule (length and common passwords, not the e-mail's letters)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import staff_scope
from app.staff.models import AuditEntry, StaffUser
from tests.helpers import console_login


def csrf(client: FlaskClient) -> str:
    page = client.get("/console/staff").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def new_user(client: FlaskClient, **fields: str | list[str]) -> tuple[int, str]:
    data: dict[str, str | list[str]] = {
        "csrf_token": csrf(client),
        "email": "a@x.test",
        "name": "Алла",
        "role": "store_manager",
        "programs": ["demo"],
        "password": "amazing lamp at dawn",
        "password_again": "amazing lamp at dawn",
    }
    data.update(fields)
    response = client.post("/console/staff/new", data=data, headers={"Accept-Language": "ru"})
    return response.status_code, response.get_data(as_text=True)


def test_an_admin_adds_a_store_manager_and_scopes_them_to_a_store(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    status, _ = new_user(client)  # "a@x.test" and a password full of "a": accepted now
    assert status == 303
    user = session.scalars(select(StaffUser).where(StaffUser.email == "a@x.test")).one()
    assert user.role == "store_manager"
    assert [p.slug for p in staff_scope.programs_of(session, user)] == ["demo"]
    scoped = client.post(
        f"/console/staff/{user.id}/scope",
        data={"csrf_token": csrf(client), "programs": "demo", "stores": "demo/msk-tverskaya"},
    )
    assert scoped.status_code == 303
    store = demo.stores[0]
    assert staff_scope.store_ids(session, user) == {store.id}
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == "a@x.test").order_by(AuditEntry.id)
    ).all()
    assert actions == ["staff.created", "staff.scope_changed"]
    creator = session.scalars(
        select(AuditEntry.actor).where(
            AuditEntry.action == "staff.created", AuditEntry.target == "a@x.test"
        )
    ).one()
    assert creator == "admin.user@example.com"


def test_bad_new_accounts_are_refused_field_by_field_in_russian(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    status, page = new_user(client, password="password123", password_again="password123")
    assert status == 422 and "из списка распространённых паролей" in page
    status, page = new_user(client, password_again="something else entirely")
    assert status == 422 and 'id="new-password_again-error"' in page
    status, page = new_user(client, email="not-an-email", name="", role="boss")
    assert status == 422
    for field in ("email", "name", "role"):
        assert f'id="new-{field}-error"' in page, field
    status, page = new_user(client, email="admin.user@example.com")
    assert status == 422 and "которого ещё нет" in page
    assert session.scalar(select(StaffUser.id).where(StaffUser.email == "a@x.test")) is None


def test_changing_a_role_ends_sessions_drops_stores_and_keeps_one_admin(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    new_user(client)
    user = session.scalars(select(StaffUser).where(StaffUser.email == "a@x.test")).one()
    client.post(
        f"/console/staff/{user.id}/scope",
        data={"csrf_token": csrf(client), "programs": "demo", "stores": "demo/msk-tverskaya"},
    )
    version = user.session_version
    changed = client.post(
        f"/console/staff/{user.id}/role", data={"csrf_token": csrf(client), "role": "marketer"}
    )
    assert changed.status_code == 303
    session.expire_all()
    assert user.role == "marketer" and user.session_version == version + 1
    assert staff_scope.store_ids(session, user) is None  # marketers have no stores
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.role_changed")
    ).one()
    assert entry.details == {"from": "store_manager", "to": "marketer"}
    # Stores for a marketer are refused.
    refused = client.post(
        f"/console/staff/{user.id}/scope",
        data={"csrf_token": csrf(client), "programs": "demo", "stores": "demo/msk-tverskaya"},
        headers={"Accept-Language": "ru"},
    )
    assert refused.status_code == 422 and "только управляющим" in refused.get_data(as_text=True)
    bad_role = client.post(
        f"/console/staff/{user.id}/role", data={"csrf_token": csrf(client), "role": "owner"}
    )
    assert bad_role.status_code == 422
    admin = session.scalars(select(StaffUser).where(StaffUser.role == "admin")).one()
    last = client.post(
        f"/console/staff/{admin.id}/role", data={"csrf_token": csrf(client), "role": "marketer"}
    )
    assert last.status_code == 409
    session.expire_all()
    assert admin.role == "admin"
    assert (
        client.post(
            "/console/staff/999999/role", data={"csrf_token": csrf(client), "role": "admin"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize("role", ["marketer", "store_manager"])
def test_only_admins_add_and_change_staff(
    client: FlaskClient, session: Session, services: Services, demo: Program, role: str
) -> None:
    email = console_login(client, session, services, role)
    me = session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
    page = client.get("/console/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {
        "csrf_token": token,
        "email": "z@x.test",
        "name": "Z",
        "role": "admin",
        "password": "amazing lamp at dawn",
        "password_again": "amazing lamp at dawn",
    }
    assert client.post("/console/staff/new", data=data).status_code == 403
    assert (
        client.post(
            f"/console/staff/{me.id}/role", data={"csrf_token": token, "role": "admin"}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/console/staff/{me.id}/scope", data={"csrf_token": token}).status_code == 403
    )
    session.expire_all()
    assert me.role == role
    assert session.scalar(select(StaffUser.id).where(StaffUser.email == "z@x.test")) is None
