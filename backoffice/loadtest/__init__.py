"""`make loadtest`: the back office under a measured, stepped load.

`python -m backoffice.loadtest` (run inside scripts/pg-test-cluster.sh, whose throw-away
PostgreSQL it fills) starts a shared Redis for the rate limits, the app under gunicorn and a
worker, all in load-test mode; `flask loadtest prepare` gives the scripts their reviewers, a
channel key and order-query targets; locust (`backoffice.loadtest.users`) drives the public form,
the channel API, order queries, reviewers and visitors at rising rates (`backoffice.loadtest.steps`)
until a 5xx or a p95 of 200 ms; `flask loadtest verify` then finds every accepted submission in
the database exactly once with its files.

Only `cli` is imported by the app; the rest imports locust (and gevent's monkey-patching with it).
"""
