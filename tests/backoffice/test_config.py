"""Settings from the environment: BACKOFFICE_<NAME> for every setting, read as the type of its
default; DATABASE_URL and APP_ENV under their own names; the README lists every setting."""
from __future__ import annotations

import logging
import re

import pytest

from backoffice import config


def test_each_setting_is_read_as_the_type_of_its_default():
    settings = config.from_environment({
        "BACKOFFICE_SMTP_PORT": "587",
        "BACKOFFICE_SANDBOX_PAY_DELAY_SECONDS": "0.25",
        "BACKOFFICE_SMTP_STARTTLS": "yes",
        "BACKOFFICE_CA_NAME": "某某数字认证有限公司",
        "BACKOFFICE_LANGUAGES": "zh_CN, en",
    })
    assert settings == {"SMTP_PORT": 587, "SANDBOX_PAY_DELAY_SECONDS": 0.25, "SMTP_STARTTLS": True,
                        "CA_NAME": "某某数字认证有限公司", "LANGUAGES": ("zh_CN", "en")}
    assert [type(settings[name]) for name in ("SMTP_PORT", "SANDBOX_PAY_DELAY_SECONDS", "SMTP_STARTTLS")] == [
        int, float, bool]


@pytest.mark.parametrize(("text", "value"), [("1", True), ("true", True), ("YES", True), (" yes ", True),
                                             ("0", False), ("False", False), ("no", False)])
def test_a_yes_no_setting_takes_1_0_true_false_yes_no(text, value):
    assert config.from_environment({"BACKOFFICE_SMTP_STARTTLS": text}) == {"SMTP_STARTTLS": value}


def test_a_list_setting_converts_each_item_as_the_default_s_items(monkeypatch):
    monkeypatch.setattr(config.Defaults, "RETRY_MINUTES", (2, 10), raising=False)
    assert config.from_environment({"BACKOFFICE_RETRY_MINUTES": "1, 5,30"}) == {"RETRY_MINUTES": (1, 5, 30)}


def test_text_stays_text_even_when_it_looks_like_a_number_or_json():
    settings = config.from_environment({"BACKOFFICE_ALIPAY_APP_ID": "2021000123456789",
                                        "BACKOFFICE_SELLER_TAXPAYER_ID": "0012",
                                        "BACKOFFICE_SMS_HTTP_KEY": "true",
                                        "BACKOFFICE_SMTP_PASSWORD": "null"})
    assert settings == {"ALIPAY_APP_ID": "2021000123456789", "SELLER_TAXPAYER_ID": "0012",
                        "SMS_HTTP_KEY": "true", "SMTP_PASSWORD": "null"}


def test_database_url_and_app_env_keep_their_names_and_other_variables_are_left_alone():
    environ = {"DATABASE_URL": "postgresql+psycopg://ca@db/backoffice", "APP_ENV": "production",
               "BACKOFFICE_INSTANCE": "/srv/backoffice", "PATH": "/usr/bin", "HOME": "/root"}
    assert config.from_environment(environ) == {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://ca@db/backoffice",
                                                "APP_ENV": "production"}


@pytest.mark.parametrize(("variable", "text", "refusal"), [
    ("BACKOFFICE_IDENTITY_VERIFER", "http", "BACKOFFICE_IDENTITY_VERIFER is no setting"),
    ("BACKOFFICE_SMTP_PORT", "twenty-five", "BACKOFFICE_SMTP_PORT: 'twenty-five' is not a whole number"),
    ("BACKOFFICE_SANDBOX_PAY_DELAY_SECONDS", "soon", "BACKOFFICE_SANDBOX_PAY_DELAY_SECONDS: 'soon' is not a number"),
    ("BACKOFFICE_SMTP_STARTTLS", "maybe", "BACKOFFICE_SMTP_STARTTLS: 'maybe' is none of 1/0, true/false, yes/no"),
    ("BACKOFFICE_SQLALCHEMY_ENGINE_OPTIONS", "{}", "a dict is set in backoffice/config.py, not from the environment"),
    ("BACKOFFICE_APP_ENV", "production", "BACKOFFICE_APP_ENV is read as APP_ENV"),
    ("BACKOFFICE_SQLALCHEMY_DATABASE_URI", "sqlite://", "BACKOFFICE_SQLALCHEMY_DATABASE_URI is read as DATABASE_URL"),
])
def test_what_cannot_be_taken_is_refused_by_its_name(variable, text, refusal):
    with pytest.raises(RuntimeError, match=re.escape(refusal)):
        config.from_environment({variable: text})


def test_a_plain_name_of_before_is_reported_as_ignored(caplog, monkeypatch):
    # A migration run earlier in the session (Alembic's fileConfig) disables the loggers existing then.
    monkeypatch.setattr(logging.getLogger("backoffice.config"), "disabled", False)
    with caplog.at_level(logging.WARNING, logger="backoffice.config"):
        assert config.from_environment({"SECRET_KEY": "old", "SMS_GATEWAY": "http", "APP_ENV": "test"}) == {
            "APP_ENV": "test"}
    assert "ignored in the environment: SECRET_KEY, SMS_GATEWAY; settings are read as BACKOFFICE_<NAME>" in caplog.text


def test_the_app_takes_its_settings_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_CA_SERVICE_PHONE", "4008001234")
    monkeypatch.setenv("BACKOFFICE_REVEALS_PER_STAFF_PER_HOUR", "12")
    app = make_app()
    assert (app.config["CA_SERVICE_PHONE"], app.config["REVEALS_PER_STAFF_PER_HOUR"]) == ("4008001234", 12)


def test_the_readme_lists_every_setting():
    readme = (config.ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, re.MULTILINE))
    settings = {"DATABASE_URL" if name == "SQLALCHEMY_DATABASE_URI" else name for name in config.defaults()}
    assert sorted(settings - listed) == []
