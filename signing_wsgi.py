"""The signing service's process: `gunicorn -b 127.0.0.1:5001 signing_wsgi:app` (or `flask --app
signing_wsgi run --port 5001`). It reads the web app's settings (BACKOFFICE_<NAME>, the secrets in
instance/secrets.json outside production) and makes nothing of the web app."""
from backoffice.config import load
from issuance.signing_app import create_signing_app

app = create_signing_app(load())
