"""The ``PUSH_*`` keys (settings.py): keys that are no setting, and the setting meant."""

from __future__ import annotations

from flask_push_templates.settings import DEFAULTS, unknown_keys


def test_misspelled_keys_name_the_setting_meant() -> None:
    config = {**DEFAULTS, "PUSH_MANIFST": "m.json", "PUSH_EARLY_HINT": True, "DEBUG": True}
    assert unknown_keys(config) == [
        "PUSH_EARLY_HINT is not a setting of Flask-Push-Templates and is ignored; "
        "did you mean PUSH_EARLY_HINTS?",
        "PUSH_MANIFST is not a setting of Flask-Push-Templates and is ignored; "
        "did you mean PUSH_MANIFEST?",
    ]


def test_a_key_like_no_setting_is_still_reported() -> None:
    assert unknown_keys({"PUSH_SERVER": "h2o"}) == [
        "PUSH_SERVER is not a setting of Flask-Push-Templates and is ignored; "
        "README.rst lists the settings"
    ]


def test_settings_and_other_keys_are_not_reported() -> None:
    assert unknown_keys({**DEFAULTS, "SERVER_NAME": "x", "PUSHER_KEY": "k", 3: "not text"}) == []
