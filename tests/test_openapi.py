"""The OpenAPI document is true: every /api rule is in it, and schemathesis finds no 5xx and no response
that breaks it when it drives the app with a valid write token (positive and negative inputs)."""

from __future__ import annotations

import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dashboard import create_app
from dashboard.accounts import Accounts
from vision.config import parse_config
from vision.events import Event, new_event_id
from vision.store.database import Store

CONFIG = """
hall: {name: Test hall, language: en}
cameras:
  - id: cam-a
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w01
        staff_zone: [[0, 0], [0.5, 0], [0.5, 0.6], [0, 0.6]]
        counter: [[0, 0.6], [0.5, 0.6], [0.5, 0.8], [0, 0.8]]
      - id: w02
        staff_zone: [[0.5, 0], [1, 0], [1, 0.6], [0.5, 0.6]]
        counter: [[0.5, 0.6], [1, 0.6], [1, 0.8], [0.5, 0.8]]
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("openapi")
    config = parse_config(CONFIG, base_dir=folder)
    store = Store(folder / "hall.db", synchronous="NORMAL")
    now = time.time()
    for i in range(5):
        ev = Event(id=new_event_id(now - 100 + i), type="unattended", camera_id="cam-a", window_id="w01",
                   phase="started", severity="medium", started_at=now - 100 + i, updated_at=now - 100 + i)
        store.record(ev)
        store.record(ev.advance("ended", now - 50 + i))
    app = create_app(config, store=store, testing=True, secret_key=b"k" * 32)
    _, token = Accounts(store).create_token("schemathesis", "write")
    app.config["TEST_TOKEN"] = token
    yield app
    # the generated cases got past validation too, not only to 4xx answers
    assert store.active_pauses(time.time() + 1) or store._conn().execute("SELECT count(*) FROM pauses").fetchone()[0]
    store.close()


@pytest.fixture(scope="module")
def auth(app) -> dict:
    return {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"}


@pytest.fixture(scope="module")
def document(app, auth) -> dict:
    response = app.test_client().get("/api/openapi.json", headers=auth)
    assert response.status_code == 200
    return response.get_json()


def test_every_api_rule_is_documented(app, document):
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/metrics":
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            registered |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert registered - documented == set(), "routes missing from the OpenAPI document"
    assert documented - registered == set(), "documented operations that do not exist"


def test_document_embeds_the_docs_schemas(document):
    schemas = document["components"]["schemas"]
    for name in ("Event", "EventRecord", "WebhookPayload", "Error"):
        Draft202012Validator.check_schema(schemas[name])
    assert schemas["WebhookPayload"]["properties"]["data"] == {"$ref": "#/components/schemas/Event"}
    assert set(schemas["Event"]["required"]) < set(schemas["EventRecord"]["required"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# A request body over the app's limit is refused with 413 before it is read, the right answer to an
# oversized negative example (e.g. a bulk review with too many ids); schemathesis' default list lacks it.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
CONFIG_FOR_FUZZING = {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}


@pytest.fixture(scope="module")
def api_schema(app, auth):
    config = SchemathesisConfig.from_dict(CONFIG_FOR_FUZZING)
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, headers=auth, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")
EVENT_LIST = {"path": "/api/events", "method": "GET"}
ROTA = {"path": "/api/rota"}


@schema.exclude(**EVENT_LIST).exclude(**ROTA).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case, auth):
    case.call_and_validate(headers=auth)


@schema.include(**EVENT_LIST).parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_event_list_conforms_to_its_document(case, auth):
    # every check but "schema-valid input is accepted": a cursor is opaque (a random string is not one
    # of ours) and since must come before until, neither of which a schema can say; both are a 400
    case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])


@schema.include(**ROTA).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_rota_conforms_to_its_document(case, auth):
    # every check but "schema-valid input is accepted": a shift that ends before it starts, or overlaps
    # another, is a 400 naming the line to fix (as is since after until), and no schema can say that
    case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])
