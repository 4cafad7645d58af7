"""gunicorn's settings for the back office and the signing service; gunicorn reads this file from
the folder it is started in (`gunicorn wsgi:app`, `gunicorn signing_wsgi:app`)."""
import gc


def post_worker_init(worker) -> None:
    """Once the worker has made the app: what it made (modules, routes, reference data) lives as
    long as the worker, so the collector stops walking it. A full collection of it took 100–230 ms
    here, and landed on whichever request was running."""
    gc.freeze()
