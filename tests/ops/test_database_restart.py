"""PostgreSQL stops in the middle of a pickup and starts again (issue 8, faults).

gunicorn runs with the production settings (gunicorn.conf.py, two workers) on a throwaway cluster;
two scanners ship parcels one after the other while the database is stopped and started. Every
answer is 200 or a clean 503 with Retry-After, every scan that answered success is in the
database, and the same two workers serve after the restart.
"""

import threading
import time

import pytest
from sqlalchemy import select, update

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Order, OrderStatus, PickupScan, Shop
from portal.models.base import utcnow
from tests.ops.servers import Browser, Gunicorn, free_port, production_env

PASSWORD = "ops-password-1"
PARCELS = 3000

pytestmark = pytest.mark.postgres_server


def seed(url: str) -> tuple[int, list[str]]:
    """The demo people, PARCELS packed parcels in seller1's shop, courier1's open pickup there."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    from portal.services import accounts, demo, scanning

    with app.app_context():
        db.create_all()
        demo.seed(PASSWORD, with_orders=False)
        shop = db.session.scalar(select(Shop).where(Shop.owner.has(username="seller1")))
        rows = [
            {
                "shop_id": shop.id,
                "platform_order_no": f"F{n:08d}",
                "status": OrderStatus.PACKED,
                "recipient_name": "张伟",
                "recipient_phone": "13800000000",
                "tracking_no": f"7320{n:010d}",
                "paid_at": utcnow(),
                "ship_by": utcnow(),
            }
            for n in range(PARCELS)
        ]
        db.session.execute(Order.__table__.insert(), rows)
        db.session.execute(update(Shop).values(require_packed_for_pickup=True))
        pickup = scanning.start_pickup(shop, courier=accounts.find_user("courier1"))
        db.session.commit()
        pickup_id = pickup.id
        db.engine.dispose()
    return pickup_id, [row["tracking_no"] for row in rows]


class Scanners:
    """Threads that scan the next parcel, each as a signed-in courier, until told to stop."""

    def __init__(self, port: int, pickup_id: int, numbers: list[str], count: int = 2):
        self.pickup_id = pickup_id
        self.numbers = iter(numbers)
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int, str, dict]] = []  # number, status, outcome, headers
        self.stopping = threading.Event()
        self.browsers = []
        for _ in range(count):
            browser = Browser(port)
            browser.sign_in("courier1", PASSWORD)
            browser.get(f"/courier/pickups/{pickup_id}")  # the page's CSRF token
            self.browsers.append(browser)
        self.threads = [threading.Thread(target=self._scan, args=(b,), daemon=True) for b in self.browsers]

    def _scan(self, browser: Browser) -> None:
        while not self.stopping.is_set():
            with self.lock:
                number = next(self.numbers, None)
            if number is None:
                return
            status, headers, text = browser.post(
                f"/courier/pickups/{self.pickup_id}/scan", {"code": number}, **{"HX-Request": "true"}
            )
            outcome = next((o for o in ("shipped", "already", "error") if f'data-outcome="{o}"' in text), "")
            with self.lock:
                self.answers.append((number, status, outcome, headers))
            time.sleep(0.01)

    def count(self, status: int) -> int:
        with self.lock:
            return sum(1 for answer in self.answers if answer[1] == status)

    def wait_for(self, status: int, more: int, timeout: float = 120) -> None:
        """Until ``more`` further answers with this status have come (a generous deadline, not a timing)."""
        target = self.count(status) + more
        deadline = time.monotonic() + timeout
        while self.count(status) < target:
            assert time.monotonic() < deadline, f"no {more} more {status} answers: {self.answers[-5:]}"
            assert any(t.is_alive() for t in self.threads), "the scanners ran out of parcels"
            time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


def test_scans_survive_a_database_restart(postgres_server, tmp_path):
    url = postgres_server.create_database("portal_ops")
    pickup_id, numbers = seed(url)
    port = free_port()
    server = Gunicorn(production_env(url, port, PORTAL_UPLOAD_DIR=str(tmp_path / "uploads")), tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        workers = server.wait_workers(2)
        assert len(workers) == 2
        courier = Browser(port)
        courier.sign_in("courier1", PASSWORD)

        with Scanners(port, pickup_id, numbers) as scanners:
            scanners.wait_for(200, 30)
            postgres_server.stop("fast")
            scanners.wait_for(503, 20)
            # Pages and the API say the same while it is down.
            page_status, page_headers, page = courier.get("/courier/queue")
            api_status, api_headers, api = courier.get("/courier/queue", Accept="application/json")
            health_status = courier.get("/healthz")[0]
            postgres_server.start()
            scanners.wait_for(200, 30)

        assert page_status == 503 and "<html" in page and page_headers["Retry-After"].isdigit()
        assert api_status == 503 and api_headers["Content-Type"] == "application/problem+json"
        assert api_headers["Retry-After"].isdigit() and '"status":503' in api.replace(" ", "")
        assert health_status == 503
        statuses = {status for _, status, _, _ in scanners.answers}
        assert statuses == {200, 503}, statuses
        assert all(h.get("Retry-After", "").isdigit() for _, status, _, h in scanners.answers if status == 503)
        succeeded = {number for number, status, outcome, _ in scanners.answers if status == 200}
        assert all(outcome in ("shipped", "already") for _, status, outcome, _ in scanners.answers if status == 200)
        assert courier.get("/courier/queue")[0] == 200
        assert server.workers() == workers, "a worker was replaced"
        log = server.log.read_text()
        assert "WORKER TIMEOUT" not in log and "unhandled error" not in log, log[-3000:]
    finally:
        server.stop()

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        shipped = set(
            db.session.scalars(
                select(Order.tracking_no).where(Order.status == OrderStatus.SHIPPED, Order.tracking_no.in_(succeeded))
            )
        )
        scanned = set(
            db.session.scalars(
                select(Order.tracking_no)
                .join(PickupScan, PickupScan.order_id == Order.id)
                .where(PickupScan.pickup_id == pickup_id, Order.tracking_no.in_(succeeded))
            )
        )
        db.engine.dispose()
    assert shipped == succeeded
    assert scanned == succeeded
