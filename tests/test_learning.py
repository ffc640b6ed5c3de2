"""What the worker learns about endpoints (:mod:`flask_push_templates.learning`), where the
learner's tests in tests/test_early_hints.py leave a case open: how long a refusal stops
the hints, which kind of request a caller that names none reads, and the deployed map's
file."""

from __future__ import annotations

import pytest

from flask_push_templates import ConfigError
from flask_push_templates.learning import EarlyHintsState, TemplateLearner
from flask_push_templates.state import get_state
from tests.conftest import AppFactory
from tests.test_early_hints import admin_app, get, hinted_targets

ADMIN = {"Authorization": "Bearer admin"}
ADMIN_ASSETS = ["/static/admin.css", "/static/js/admin/user-management.js"]


@pytest.mark.parametrize("deployed", [False, True])
def test_an_endpoint_is_hinted_again_once_its_refusal_is_older_than_its_latest_32_answers(
    make_app: AppFactory, deployed: bool
) -> None:
    # README, Security: a redirect or an error among the latest 32 answers stops the 103,
    # learned or deployed; after 32 pages it no longer does (or one refusal would stop an
    # endpoint's hints for the life of the worker).
    config = {"PUSH_EARLY_HINTS_TEMPLATES": {"admin": ["admin.html"]}} if deployed else {}
    app = admin_app(make_app, **config)
    get(app, "/admin", headers=ADMIN)
    response, _ = get(app, "/admin")
    assert response.status_code == 302
    for _ in range(32):  # the refusal is among the latest 32 answers before each of these
        response, sent = get(app, "/admin", headers=ADMIN)
        assert response.status_code == 200
        assert sent == []
    _, sent = get(app, "/admin", headers=ADMIN)
    assert sorted(hinted_targets(sent)) == ADMIN_ASSETS


def test_the_learner_keeps_the_bounds_the_readme_states() -> None:
    # README, "What is learned": 1024 endpoints, 8 template sets per endpoint and kind, 32
    # names per set; the least recent is forgotten first.
    learner = TemplateLearner()
    for number in range(1025):
        learner.learn(f"e{number}", ["page.html"])
    assert learner.endpoints() == [f"e{number}" for number in range(1, 1025)]
    for number in range(9):
        learner.learn("e1", [f"v{number}.html"], credentialed=True)
    sets = [(f"v{number}.html",) for number in range(1, 9)]
    assert learner.variants("e1", credentialed=True) == sets
    names = [f"t{number}.html" for number in range(33)]
    learner.learn("e1", names)
    assert learner.variants("e1") == [("page.html",), tuple(names[:32])]


def test_a_caller_that_names_no_kind_of_request_reads_only_what_requests_without_credentials_taught(
    make_app: AppFactory,
) -> None:
    # The kind that anyone can see by asking without credentials: a caller that forgets to
    # say which kind it serves must never be handed what a logged-in page rendered.
    app = make_app(templates={"anonymous.html": "<p>", "member.html": "<p>"}, PUSH_EARLY_HINTS=True)
    state = get_state(app)
    hints = state.early_hints
    assert isinstance(hints, EarlyHintsState)
    hints.learn("page", ["anonymous.html"])
    hints.learn("page", ["member.html"], credentialed=True)
    assert hints.templates_for(app.jinja_env, state.templates, "page") == ["anonymous.html"]
    assert hints.learner.shared("page") == {"anonymous.html"}
    assert hints.learner.shared("page", credentialed=True) == {"member.html"}


def test_a_page_answer_without_templates_counts_as_a_page() -> None:
    # What a deployed endpoint's pages count as: as many pages as answers that are not.
    learner = TemplateLearner()
    learner.learn_not_page("index")
    assert not learner.serves_pages("index")
    learner.learn_page_answer("index")
    assert learner.serves_pages("index")


def test_a_templates_file_saved_with_a_byte_order_mark_is_read(make_app: AppFactory) -> None:
    # What Windows editors write at the start of a UTF-8 file; json.loads refuses it.
    app = admin_app(
        make_app,
        files={"early_hints.json": '\ufeff{"admin": ["admin.html"]}'},
        PUSH_EARLY_HINTS_TEMPLATES="early_hints.json",
    )
    _, sent = get(app, "/admin", headers=ADMIN)
    assert sorted(hinted_targets(sent)) == ADMIN_ASSETS


def test_a_missing_templates_file_warning_names_the_setting_and_the_command_that_writes_it(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_EARLY_HINTS=True, PUSH_EARLY_HINTS_TEMPLATES="later.json")
    [message] = [record.getMessage() for record in caplog.records]
    assert message.startswith("PUSH_EARLY_HINTS_TEMPLATES ")
    assert message.endswith(
        "later.json does not exist yet: endpoints are learned until it does "
        "('flask push manifest --early-hints FILE' writes it)"
    )
    assert app.root_path in message


def test_a_templates_file_that_is_not_utf8_is_refused_with_how_to_fix_it(
    make_app: AppFactory,
) -> None:
    with pytest.raises(ConfigError) as error:
        make_app(
            files={"latin1.json": '{"café": ["a.html"]}'.encode("latin-1")},
            PUSH_EARLY_HINTS=True,
            PUSH_EARLY_HINTS_TEMPLATES="latin1.json",
        )
    assert str(error.value).endswith("latin1.json is not UTF-8 (byte 5): save it as UTF-8 JSON")
