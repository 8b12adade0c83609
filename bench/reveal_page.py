"""The QR reveal page against a signed-in request whose view does nothing, in the same app and run.

    .venv/bin/python bench/reveal_page.py [--requests 1000] [--rounds 3]

Builds the demo world on a temporary SQLite database, prints a label for each of ``--requests`` orders of
seller1's shop (so every reveal opens another label), then times, through the test client and with the
rate limiter on (in memory, the limit raised so that nothing is refused): (a) a signed-in GET whose view
does nothing, behind the real access policy; (b) ``GET /r/<token>`` as the shop's owner and (c) as courier1,
whose grant in the shop shows recipients: token lookup by its hash, the access check, the audit row and
its commit, the page. Target (issue 14): the reveal within 2x of (a). Each figure is the best of
``--rounds`` rounds.
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from request_floor import best_ms  # noqa: E402
from sqlalchemy import select  # noqa: E402

from portal import create_app, permissions  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import CourierGrant, Order, OrderStatus, PrintedLabel, Shop, User  # noqa: E402
from portal.services import accounts, demo, printing  # noqa: E402


def world(tmp: Path, labels: int):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}",
        RATELIMIT_ENABLED=True,
        PORTAL_REVEAL_LIMIT="10000000 per hour",
    )
    app.add_url_rule("/probe_nothing", "probe_nothing", lambda: "")
    permissions.POLICY["probe_nothing"] = permissions.Rule(permissions.SIGNED_IN)
    with app.app_context():
        db.create_all()
        demo.seed("bench-password-1")
        owner = accounts.find_user("seller1")
        shop = db.session.scalar(select(Shop).where(Shop.owner_id == owner.id))
        template = db.session.scalar(select(Order).where(Order.shop_id == shop.id).order_by(Order.id))
        columns = {c.key: getattr(template, c.key) for c in Order.__table__.columns if c.key != "id"}
        rows = [
            {**columns, "platform_order_no": f"R{n:08d}", "status": OrderStatus.PENDING, "tracking_no": None}
            for n in range(labels)
        ]
        db.session.execute(Order.__table__.insert(), rows)
        ids = list(db.session.scalars(select(Order.id).where(Order.platform_order_no.like("R%"))))
        grant = db.session.scalar(
            select(CourierGrant)
            .join(CourierGrant.user)
            .where(CourierGrant.shop_id == shop.id, User.username == "courier1")
        )
        grant.view_recipient = True
        company = grant.company
        for start in range(0, len(ids), printing.MAX_LABELS_PER_JOB):
            printing.create_print_job(
                owner, ids[start : start + printing.MAX_LABELS_PER_JOB], allowed_shop_ids={shop.id}, company=company,
                size="100x150",
            )  # fmt: skip
        db.session.commit()
        tokens = list(db.session.scalars(select(PrintedLabel.reveal_token).where(PrintedLabel.order_id.in_(ids))))
        sessions = {name: accounts.find_user(name).get_id() for name in ("seller1", "courier1")}
    clients = {}
    for name, session_id in sessions.items():
        clients[name] = app.test_client()
        with clients[name].session_transaction() as session:
            session["_user_id"] = session_id
    return clients, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clients, tokens = world(Path(tmp), args.requests)
        owner, courier = clients["seller1"], clients["courier1"]
        for client in (owner, courier):  # each kind of reveal answers with the details before it is timed
            page = client.get(f"/r/{tokens[0]}")
            assert page.status_code == 200 and "tel:" in page.get_data(as_text=True), page.status_code

        def reveal(client):
            def call(index):
                response = client.get(f"/r/{tokens[index % len(tokens)]}")
                assert response.status_code == 200

            return call

        figures = [
            (
                "signed in, view does nothing",
                best_ms(lambda i: owner.get("/probe_nothing"), args.requests, args.rounds),
            ),
            ("reveal as the shop's owner", best_ms(reveal(owner), args.requests, args.rounds)),
            ("reveal as a granted courier", best_ms(reveal(courier), args.requests, args.rounds)),
        ]
    base = figures[0][1]
    print(f"{args.requests:,} requests per round, best of {args.rounds} rounds, rate limiter on")
    for label, ms in figures:
        print(f"{label:30s} {ms:6.3f} ms  {1 / ms * 1000:7,.0f} req/s  {ms / base:4.2f}x the no-op (target <= 2x)")


if __name__ == "__main__":
    main()
