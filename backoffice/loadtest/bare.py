"""The bare WSGI app of the load test's floor: a page of the size of the application form's, no
framework, no database (`gunicorn backoffice.loadtest.bare:app`)."""
PAGE = b"<!doctype html><title>bare</title>" + b"<p>" + b"x" * 18_000 + b"</p>"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))])
    return [PAGE]
