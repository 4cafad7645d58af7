"""Liveness with the database checked, for load balancers and monitoring, and what the workers
have left undone, for monitoring: a web process serves while no worker runs, so the answer is
then 200 with status "degraded" (a load balancer keeps the node; the alert goes to a person)."""
from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backoffice.worker import backlog
from models.base import utcnow
from web.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
        workers = backlog(db.session, utcnow())
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    behind = any(workers.values())
    return jsonify(status="degraded" if behind else "ok", database="ok", workers=workers)
