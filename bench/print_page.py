"""Benchmark the print page for 1,000 labels, allocation included, against the 1,000 barcodes alone.

    .venv/bin/python bench/print_page.py [--labels 1000] [--repeat 3]

One SQLite world (a shop with a ZTO range, (repeat + 1) × 1,000 pending orders with real addresses,
courier1 with a print grant); a first job warms the server up as a running one would be, then each
round times a new job through the test client, as the server sees it:
POST /courier/print-jobs (numbers allocated, orders labelled, job recorded) + GET of the print page
(HTML of every label); and, separately, the PDF download of the same job. The baseline is generating
the same 1,000 Code 128 SVGs alone. Targets: page under 0.5 s, within 5x of the barcodes; PDF under 6 s.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Order, OrderStatus, Shop  # noqa: E402
from portal.services import accounts, barcodes, demo, orders  # noqa: E402


def world(tmp: Path, count: int):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}")
    with app.app_context():
        db.create_all()
        demo.seed("bench-password-1", with_orders=False)
        shop = db.session.scalar(select(Shop).order_by(Shop.id))
        inputs = []
        for n in range(count):
            raw = {
                "platform_order_no": f"B{n:08d}",
                "recipient_name": "欧阳娜娜",
                "recipient_phone": f"139{n:08d}",
                "address": demo.DEMO_ADDRESSES[n % (len(demo.DEMO_ADDRESSES) - 1)],
                "paid_at": "2026-11-26 10:00:00",
                "items": [{"title": "西湖龙井 明前特级 250g", "quantity": 1 + n % 3}],
            }
            order_input, errors = orders.validate_order(raw)
            assert not errors, errors
            inputs.append(order_input)
        orders.save_orders(shop, inputs, actor=None, source="api")
        db.session.commit()
        ids = list(
            db.session.scalars(
                select(Order.id).where(
                    Order.shop_id == shop.id, Order.status == OrderStatus.PENDING, Order.platform_order_no.like("B%")
                )
            )
        )
        session_id = accounts.find_user("courier1").get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    return app, client, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    best_page = best_pdf = best_codes = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        app, client, ids = world(Path(tmp), args.labels * (args.repeat + 1))
        for round_ in range(args.repeat + 1):
            batch = ids[round_ * args.labels : (round_ + 1) * args.labels]
            barcodes.code128_modules.cache_clear()  # each measurement encodes its numbers afresh
            started = time.perf_counter()
            response = client.post(
                "/courier/print-jobs",
                data={
                    "company": "ZTO",
                    "size": "100x150",
                    "scope": "selected",
                    "order_ids": [str(i) for i in batch],
                    "confirm_count": str(len(batch)),  # over 100 labels the count is confirmed (as already done)
                },
            )
            assert response.status_code == 302, response.status_code
            job_url = response.headers["Location"].removesuffix("/summary")  # the job's page, then its labels
            page = client.get(job_url)
            page_seconds = time.perf_counter() - started
            assert page.status_code == 200 and page.data.count(b"<svg") >= len(batch)  # a barcode each (and a QR)
            started = time.perf_counter()
            pdf = client.get(job_url + ".pdf")
            pdf_seconds = time.perf_counter() - started
            assert pdf.status_code == 200
            with app.app_context():
                numbers = list(db.session.scalars(select(Order.tracking_no).where(Order.id.in_(batch))))
            barcodes.code128_modules.cache_clear()
            started = time.perf_counter()
            for number in numbers:
                barcodes.code128_svg(number)
            codes_seconds = time.perf_counter() - started
            if round_ == 0:
                continue  # warm-up
            best_page = min(best_page, page_seconds)
            best_pdf = min(best_pdf, pdf_seconds)
            best_codes = min(best_codes, codes_seconds)
    print(f"labels: {args.labels}")
    print(f"barcodes alone:                 {best_codes:.3f} s")
    print(f"print job + print page (HTML):  {best_page:.3f} s  ({best_page / best_codes:.1f}x the barcodes alone)")
    print(f"PDF of the same job:            {best_pdf:.3f} s  ({best_pdf / args.labels * 1000:.2f} ms a label)")


if __name__ == "__main__":
    main()
