"""Sign-in, sessions, CSRF and roles of the web app, over HTTP against a real server."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from store.schema import audit_log
from store.sessions import MAX_FAILURES, set_password
from store.users import add_user
from tests.web.conftest import PASSWORD, csrf_of, signed_in


def test_the_session_cookie_is_httponly_and_samesite(site):
    base, _, _ = site
    client = httpx.Client(base_url=base)
    form = client.get("/")
    token = form.text.split('name="token" value="')[1].split('"')[0]
    done = client.post(
        "/sign-in",
        data={"username": "analyst", "password": PASSWORD, "token": token},
        follow_redirects=False,
    )
    cookie = next(h for h in done.headers.get_list("set-cookie") if "claimrisk_session=" in h)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert done.headers["location"] == "/worklist"


def test_a_post_without_its_csrf_token_is_refused(site):
    base, eng, _ = site
    client = signed_in(base, "lead")
    page = client.get("/worklist")
    item = page.text.split('action="/worklist/')[1].split('"')[0]
    version = page.text.split('name="version" value="')[1].split('"')[0]
    form = {"version": version, "status": "in_progress", "back": "/worklist"}
    with eng.connect() as conn:
        before = len(conn.execute(select(audit_log)).all())
    refused = client.post(f"/worklist/{item}", data=form)
    assert refused.status_code == 403 and "security token" in refused.text
    wrong = client.post(f"/worklist/{item}", data={**form, "csrf": "not-the-token"})
    assert wrong.status_code == 403
    with eng.connect() as conn:
        assert len(conn.execute(select(audit_log)).all()) == before  # nothing changed
    done = client.post(f"/worklist/{item}", data={**form, "csrf": csrf_of(page.text)})
    assert done.status_code == 303 and "notice=" in done.headers["location"]


def test_a_biller_cannot_reach_the_leads_pages(site):
    base, _, _ = site
    biller = signed_in(base, "biller")
    assert biller.get("/check").status_code == 200
    for path in ("/worklist", "/dashboard"):
        refused = biller.get(path)
        assert refused.status_code == 403 and "biller" in refused.text, path
    assert "/dashboard" not in biller.get("/check").text  # not offered in the navigation
    lead = signed_in(base, "lead")
    assert lead.get("/dashboard").status_code == 200
    analyst = signed_in(base, "analyst")
    assert analyst.get("/dashboard").status_code == 403


def test_pages_need_a_session_and_sign_out_ends_it(site):
    base, _, _ = site
    anonymous = httpx.Client(base_url=base, follow_redirects=False)
    gone = anonymous.get("/worklist")
    assert gone.status_code == 303 and gone.headers["location"] == "/?next=/worklist"
    client = signed_in(base, "analyst")
    cookie = client.cookies.get("claimrisk_session")
    page = client.get("/worklist")
    assert client.post("/sign-out", data={"csrf": csrf_of(page.text)}).status_code == 303
    replay = httpx.Client(base_url=base, follow_redirects=False)
    replay.cookies.set("claimrisk_session", cookie)
    assert replay.get("/worklist").status_code == 303  # the copied cookie no longer works


def test_repeated_failures_lock_the_user(site):
    base, eng, _ = site
    client = httpx.Client(base_url=base)
    with eng.begin() as conn:
        add_user(conn, "locky", "analyst", "test")
        set_password(conn, "locky", PASSWORD, "test")

    def attempt(password: str) -> httpx.Response:
        form = client.get("/")
        token = form.text.split('name="token" value="')[1].split('"')[0]
        return client.post(
            "/sign-in",
            data={"username": "locky", "password": password, "token": token},
            follow_redirects=False,
        )

    for _ in range(MAX_FAILURES):
        assert attempt("wrong password!").status_code == 401
    locked = attempt(PASSWORD)
    assert locked.status_code == 401 and "too many failed sign-ins" in locked.text
    with eng.connect() as conn:
        actions = (
            conn.execute(select(audit_log.c.action).where(audit_log.c.entity_id == "locky"))
            .scalars()
            .all()
        )
    assert actions.count("sign_in_failed") == MAX_FAILURES and "lock" in actions


def test_every_page_renders_with_its_filters(site):
    base, _, _ = site
    lead = signed_in(base, "lead")
    for path in (
        "/worklist",
        "/worklist?category=eligibility&status=open&status=expired&due=30&sort=deadline",
        "/worklist?payer_id=&category=&assignee=&due=&sort=priority",
        "/worklist?payer_id=COM01&sort=amount&cursor=bm90LWEtY3Vyc29y",
        "/dashboard",
        "/dashboard?payer_id=COM01&since=2025-01-01&until=2025-06-30",
        "/check",
        "/model",
    ):
        got = lead.get(path)
        assert got.status_code == 200 and "<main" in got.text, (path, got.text[:300])


def test_a_typed_claim_is_scored_and_a_bad_field_is_named(site):
    base, _, _ = site
    biller = signed_in(base, "biller")
    page = biller.get("/check").text
    fields = dict(re.findall(r'name="([a-z0-9_]+)" value="([^"]*)"', page))
    form = {k: v for k, v in fields.items() if k != "token"}
    scored = biller.post("/check", data=form, files={"x12": ("", b"")})
    assert scored.status_code == 200
    assert "C-EXAMPLE-0001" in scored.text and "claims flagged" in scored.text
    assert "Failed validation" not in scored.text
    bad = biller.post("/check", data={**form, "line1_units": "many"}, files={"x12": ("", b"")})
    assert "Failed validation" in bad.text and "units" in bad.text
    as_csv = biller.post("/check.csv", data=form, files={"x12": ("", b"")})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[1].startswith("C-EXAMPLE-0001,scored")


def test_a_hand_edited_url_gets_a_page_saying_what_is_wrong(site):
    base, _, _ = site
    lead = signed_in(base, "lead")
    got = lead.get("/worklist/not-a-number")
    assert got.status_code == 422 and "<main" in got.text and "item_id" in got.text
    api = lead.get("/v1/worklist?limit=0")  # the API keeps its JSON problems
    assert api.status_code in (401, 422) and api.headers["content-type"].startswith("application/")
