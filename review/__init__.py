"""The reviewer console: queues, review decisions, working-day SLA clocks, dual control."""
from __future__ import annotations


def init_app(app) -> None:
    from review import identity, navigation, revocation_work
    from review.blueprint import bp

    identity.register(app)
    revocation_work.register(app)
    app.register_blueprint(bp)
    app.context_processor(navigation.console_nav)
    app.add_template_filter(navigation.shanghai)
    app.add_template_filter(navigation.check_detail)
