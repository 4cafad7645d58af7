"""Configuration: defaults, then instance secrets, then the environment, then test overrides."""
from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("BACKOFFICE_INSTANCE", ROOT / "instance"))

SECRET_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "LOOKUP_KEY")


class Defaults:
    APP_ENV = "development"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'backoffice.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    UPLOAD_FOLDER = str(INSTANCE / "uploads")
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    MATERIAL_MAX_BYTES = 1536 * 1024  # 1.5 MB, as the portal promises
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 2 * 3600
    WTF_CSRF_TIME_LIMIT = 2 * 3600
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    DEFAULT_CHANNEL = "direct"
    SMS_GATEWAY = "sandbox"  # or "http"
    SMS_HTTP_URL = ""
    SMS_HTTP_KEY = ""
    SMS_CODE_TTL_SECONDS = 300
    SMS_CODE_MAX_ATTEMPTS = 5
    SMS_CODES_PER_PHONE_PER_HOUR = 5
    SMS_CODES_PER_IP_PER_HOUR = 20
    SMS_CODE_MIN_INTERVAL_SECONDS = 60
    CAPTCHA_MAX_ATTEMPTS = 5
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    TESTING = False


def load(test_config: dict | None = None) -> dict:
    config = {k: getattr(Defaults, k) for k in dir(Defaults) if k.isupper()}
    config.update(_from_environment())
    if test_config:
        config.update(test_config)
    if config["APP_ENV"] == "production":
        missing = [name for name in SECRET_NAMES if not config.get(name)]
        if missing:
            raise RuntimeError(f"production needs these settings: {', '.join(missing)}")
    else:
        config["SESSION_COOKIE_SECURE"] = config.get("SESSION_COOKIE_SECURE_IN_DEV", False)
        for name, value in _dev_secrets().items():
            config.setdefault(name, value)
    return config


def _from_environment() -> dict:
    env: dict = {}
    if url := os.environ.get("DATABASE_URL"):
        env["SQLALCHEMY_DATABASE_URI"] = url
    for name in (*SECRET_NAMES, "APP_ENV", "SMS_GATEWAY", "SMS_HTTP_URL", "SMS_HTTP_KEY",
                 "RATELIMIT_STORAGE_URI", "UPLOAD_FOLDER", "DEFAULT_CHANNEL"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _dev_secrets() -> dict:
    """Development keys, made once per checkout and kept under instance/."""
    path = INSTANCE / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    INSTANCE.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_hex(32),
        "FIELD_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        "LOOKUP_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values
