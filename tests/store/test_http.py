"""The worklist over HTTP with a store: roles, the life cycle, audit, 409s, pages, KPIs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, select

from features.codes import label_remits
from features.x12.write import write_x12
from serving.app import create_app, warm_dashboard
from serving.settings import Settings
from serving.state import load
from store import schema, worklist
from store.load import load_x12
from store.users import add_user

TODAY = dt.date(2025, 12, 31)  # the small world's last day


@pytest.fixture(scope="module")
def files(small_world, tmp_path_factory):
    return write_x12(small_world[0], tmp_path_factory.mktemp("x12"))


@pytest.fixture
def service(store, store_url, files, trained):
    """A service over a store holding the small world, and a key per role."""
    with store.begin() as conn:
        conn.execute(
            insert(schema.routing_rules).values(
                position=1, category="timely_filing", team="filing", active=True
            )
        )
        keys = {
            role: add_user(conn, f"{role}-1", role, "test")
            for role in ("biller", "analyst", "lead", "admin")
        }
        keys["analyst2"] = add_user(conn, "analyst-2", "analyst", "test")
    load_x12(store, files, "test", lambda _: None)
    with store.begin() as conn:  # the world's last day: its recent denials are still open
        worklist.store_day(conn, TODAY)
    app = create_app(Settings(database_url=store_url), load(str(trained[0].folder)))
    with TestClient(app) as client:
        yield client, {k: {"X-API-Key": v} for k, v in keys.items()}


def test_roles_are_enforced_on_the_server(service):
    client, keys = service
    assert client.get("/v1/worklist").status_code == 401
    assert client.get("/v1/worklist", headers={"X-API-Key": "cr_nope_nope"}).status_code == 401
    assert client.get("/v1/worklist", headers=keys["biller"]).status_code == 403
    assert client.get("/v1/worklist", headers=keys["analyst"]).status_code == 200
    assert client.get("/v1/kpis", headers=keys["analyst"]).status_code == 403
    assert client.get("/v1/kpis", headers=keys["lead"]).status_code == 200
    assert client.get("/v1/routing-rules", headers=keys["analyst"]).status_code == 403
    assert client.post("/v1/admin/reload", json={}, headers=keys["lead"]).status_code == 403


def test_new_items_are_ranked_and_routed_by_the_rules(service):
    client, keys = service
    page = client.get("/v1/worklist?limit=200", headers=keys["lead"]).json()["items"]
    assert page and all(i["model_version"] for i in page)
    keys_in_order = [(i["priority_key"], i["deadline"], i["id"]) for i in page]
    assert keys_in_order == sorted(keys_in_order)
    filing = client.get(
        "/v1/worklist?category=timely_filing&status=open&status=expired", headers=keys["lead"]
    ).json()["items"]
    assert filing and all(i["team"] == "filing" and i["rule_id"] for i in filing)


def test_every_page_once_in_order(service):
    client, keys = service
    whole = client.get("/v1/worklist?limit=200&sort=amount", headers=keys["lead"]).json()["items"]
    seen, cursor = [], None
    while True:
        url = "/v1/worklist?limit=7&sort=amount" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=keys["lead"]).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [i["id"] for i in seen][: len(whole)] == [i["id"] for i in whole]
    assert len({i["id"] for i in seen}) == len(seen)
    bad = client.get("/v1/worklist?cursor=garbage", headers=keys["lead"])
    assert bad.status_code == 422


def _first_open(client, keys) -> dict:
    return client.get("/v1/worklist?limit=1", headers=keys["lead"]).json()["items"][0]


def test_the_life_cycle_with_audit_rows_and_stale_writes_refused(service):
    client, keys = service
    item = _first_open(client, keys)
    url = f"/v1/worklist/{item['id']}"
    take = {"status": "in_progress", "assignee": "analyst-1", "note": "calling the payer"}
    assert client.patch(url, json=take, headers=keys["analyst"]).status_code == 428
    stale = {**keys["analyst"], "If-Match": str(item["version"] + 5)}
    response = client.patch(url, json=take, headers=stale)
    assert response.status_code == 409 and response.json()["version"] == item["version"]
    ok = client.patch(
        url, json=take, headers={**keys["analyst"], "If-Match": f'"{item["version"]}"'}
    )
    assert ok.status_code == 200, ok.text
    version = ok.json()["version"]
    assert ok.headers["ETag"] == f'"{version}"'
    # another analyst may not touch it, nor may an analyst hand it to someone else
    other = client.patch(
        url, json={"status": "appealed"}, headers={**keys["analyst2"], "If-Match": str(version)}
    )
    assert other.status_code == 403
    away = client.patch(
        url, json={"assignee": "analyst-2"}, headers={**keys["analyst"], "If-Match": str(version)}
    )
    assert away.status_code == 403
    wrong = client.patch(
        url, json={"status": "won"}, headers={**keys["analyst"], "If-Match": str(version)}
    )
    assert wrong.status_code == 409 and "may become" in wrong.json()["detail"]
    steps = [
        ({"status": "appealed"}, "analyst"),
        ({"assignee": "analyst-2"}, "lead"),
        ({"status": "won"}, "analyst2"),
    ]
    for body, who in steps:
        r = client.patch(url, json=body, headers={**keys[who], "If-Match": str(version)})
        assert r.status_code == 200, r.text
        version = r.json()["version"]
    detail = client.get(url, headers=keys["lead"]).json()
    assert detail["item"]["status"] == "won"
    history = [(h["actor"], h["action"], h["before"], h["after"]) for h in detail["history"]]
    assert history[0][:2] == ("test", "create")
    assert (
        "analyst-1",
        "update",
        {"status": "open", "assignee": None},
        {"status": "in_progress", "assignee": "analyst-1"},
    ) in history
    assert ("lead-1", "update", {"assignee": "analyst-1"}, {"assignee": "analyst-2"}) in history
    assert history[-1] == ("analyst-2", "update", {"status": "appealed"}, {"status": "won"})
    assert [n["text"] for n in detail["notes"]] == ["calling the payer"]
    assert detail["remits"] and detail["remits"][0]["adjustments"][0]["category"]
    assert version == item["version"] + 4


def test_scores_are_remembered_and_shown_with_the_item(service, small_world):
    client, keys = service
    item = _first_open(client, keys)
    claim = _claim_body(small_world[0], item["claim_id"])
    scored = client.post(
        "/v1/claims/score", json={"claims": [claim], "explain": "all"}, headers=keys["biller"]
    )
    assert scored.status_code == 200, scored.text
    detail = client.get(f"/v1/worklist/{item['id']}", headers=keys["analyst"]).json()
    prediction = detail["prediction"]
    assert prediction["scored_by"] == "biller-1"
    assert prediction["denial_probability"] == scored.json()["scores"][0]["denial_probability"]


def test_kpis_match_values_computed_by_hand(service, small_world, store):
    client, keys = service
    body = client.get(f"/v1/kpis?as_of={TODAY}", headers=keys["lead"]).json()
    tables = small_world[0]
    remits = tables["remits"]
    first = (
        remits[remits["claim_status_code"] != "22"]
        .sort_values(["claim_id", "remit_date", "remit_id"], kind="stable")
        .drop_duplicates("claim_id")
    )
    labels = label_remits(first, tables["remit_adjustments"])
    charges = tables["claims"].set_index("claim_id")["total_charge"]
    denied = first[labels["denied"].to_numpy()]
    assert body["total"]["adjudicated"] == len(first)
    assert body["total"]["denied"] == len(denied)
    assert body["total"]["denial_rate"] == pytest.approx(len(denied) / len(first), abs=1e-6)
    assert body["total"]["dollars_denied"] == pytest.approx(
        charges.loc[denied["claim_id"]].sum(), abs=0.05
    )
    by_payer = {r["payer"]: r for r in body["by_payer"]}
    for payer, group in first.groupby("payer_id"):
        n = labels.loc[group.index, "denied"].sum()
        assert by_payer[payer]["denial_rate"] == pytest.approx(n / len(group), abs=1e-6)
    clean = (~labels["denied"].to_numpy()) & (first["paid_amount"].to_numpy() > 0)
    assert body["total"]["first_pass_yield"] == pytest.approx(clean.mean(), abs=1e-6)
    unpaid = ~tables["claims"]["claim_id"].isin(first["claim_id"])
    assert sum(b["claims"] for b in body["ar_aging"]) >= int(unpaid.sum())
    with store.connect() as conn:
        won = (
            conn.execute(
                select(schema.worklist_items.c.recovered_amount).where(
                    schema.worklist_items.c.status == "won"
                )
            )
            .scalars()
            .all()
        )
    assert body["total"]["dollars_recovered"] == pytest.approx(sum(won), abs=0.05)


def test_kpis_follow_a_change_and_cover_the_scope_asked(service, store):
    client, keys = service
    lead = keys["lead"]
    before = client.get("/v1/kpis", headers=lead).json()
    item = client.get("/v1/worklist?limit=1", headers=lead).json()["items"][0]
    for status in ("appealed", "won"):
        etag = client.get(f"/v1/worklist/{item['id']}", headers=lead).headers["ETag"]
        changed = client.patch(
            f"/v1/worklist/{item['id']}",
            json={"status": status},
            headers={**lead, "If-Match": etag},
        )
        assert changed.status_code == 200, changed.text
    after = client.get("/v1/kpis", headers=lead).json()  # not the figures cached before
    risk = before["total"]["dollars_at_risk"] - item["denied_amount"]
    assert after["total"]["dollars_at_risk"] == pytest.approx(risk, abs=0.05)
    payer = item["payer_id"]
    one = client.get(f"/v1/kpis?payer_id={payer}", headers=lead).json()
    assert [r["payer"] for r in one["by_payer"]] == [payer]
    row = next(r for r in after["by_payer"] if r["payer"] == payer)
    assert one["total"] == {k: v for k, v in row.items() if k != "payer"}
    early = client.get("/v1/kpis?until=2024-06-30", headers=lead).json()
    assert max(r["month"] for r in early["by_month"]) <= "2024-06"
    assert early["total"]["claims"] < after["total"]["claims"]


def test_a_warmed_dashboard_reads_no_claims_until_the_next_load(service, files):
    """What the service does after start-up and after each load (``warm_dashboard``) leaves
    a lead's request nothing to read but the newest load and audit row."""
    client, keys = service
    eng = client.app.state.store
    warm_dashboard(eng)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(eng, "before_cursor_execute", seen)
    try:
        assert client.get("/v1/kpis", headers=keys["lead"]).status_code == 200
        assert statements and not [s for s in statements if "claim_lines" in s]
        with eng.begin() as conn:  # a load: the claims are read again
            conn.execute(
                insert(schema.loads).values(
                    name="x",
                    sha256="0" * 64,
                    kind="x12",
                    loaded_at=dt.datetime.now(dt.UTC),
                    loaded_by="test",
                    summary={},
                )
            )
        statements.clear()
        assert client.get("/v1/kpis", headers=keys["lead"]).status_code == 200
        assert [s for s in statements if "claim_lines" in s]
    finally:
        event.remove(eng, "before_cursor_execute", seen)


def _claim_body(tables: dict, claim_id: str) -> dict:
    header = tables["claims"][tables["claims"]["claim_id"] == claim_id].iloc[0]
    lines = tables["claim_lines"][tables["claim_lines"]["claim_id"] == claim_id]
    claim = {k: (None if pd.isna(v) else v) for k, v in header.to_dict().items()}
    for k in (
        "service_date_from",
        "service_date_to",
        "submission_date",
        "eligibility_verified_date",
    ):
        claim[k] = claim[k].date().isoformat() if claim[k] is not None else None
    claim["lines"] = [
        {k: (None if pd.isna(v) else v) for k, v in r.items() if k != "claim_id"}
        for r in lines.to_dict("records")
    ]
    return claim


def test_history_follows_the_store_and_as_of_scores_a_past_claim_as_offline(
    service, small_world, trained
):
    client, keys = service
    tables = small_world[0]
    info = client.get("/v1/model", headers=keys["biller"]).json()
    last = tables["remits"]["remit_date"].max().date()
    assert info["history_as_of"] == (last + dt.timedelta(days=1)).isoformat()
    model = trained[0].model
    offline = model.denial_probability(model.pipeline.point_in_time_matrix(tables))
    claims = tables["claims"].reset_index(drop=True)
    i = int(len(claims) * 0.4)  # a claim from the middle of the world: its history was shorter
    body = _claim_body(tables, claims["claim_id"][i])
    day = claims["submission_date"][i].date().isoformat()
    past = client.post(
        "/v1/claims/score", json={"claims": [body], "as_of": day}, headers=keys["biller"]
    ).json()["scores"][0]
    now = client.post("/v1/claims/score", json={"claims": [body]}, headers=keys["biller"]).json()[
        "scores"
    ][0]
    assert past["denial_probability"] == pytest.approx(offline[i], abs=1e-6)
    assert now["denial_probability"] != past["denial_probability"]
