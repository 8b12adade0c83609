"""Seed a large world for load tests: 500 shops, 50 couriers, 1,000,000 orders in every state.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/seed_world.py [--reset]
    .venv/bin/python bench/seed_world.py --database sqlite:////tmp/bench.sqlite3 --orders 200000

People, shops and grants go in through the services (a few thousand rows); orders and their items
in bulk: COPY on PostgreSQL, executemany in 50,000-row chunks on SQLite, never the ORM row by row.
Every shop has 2,000 orders (1,000,000 / 500): 10 % pending, 4 % labelled, 4 % packed, 77 %
shipped over the last 180 days, 5 % cancelled. Each courier holds all four switches in 10 shops;
``courier1`` (password ``bench-password-1``) is the one bench/load.py signs in as, and its shops
have ZTO number ranges for printing. Prints the time each step took.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import CourierGrant, Order, OrderItem, Shop, User  # noqa: E402
from portal.models.base import utcnow  # noqa: E402

PASSWORD = "bench-password-1"  # noqa: S105
SHOPS_PER_COURIER = 10
# (status, share) of every shop's orders.
STATES = [("pending", 0.10), ("labelled", 0.04), ("packed", 0.04), ("shipped", 0.77), ("cancelled", 0.05)]
PLACES = [
    ("浙江省", "杭州市", "西湖区", "330000", "330100", "330106", "310012"),
    ("广东省", "深圳市", "南山区", "440000", "440300", "440305", "518057"),
    ("上海市", "上海市", "浦东新区", "310000", "310100", "310115", "200120"),
    ("北京市", "北京市", "海淀区", "110000", "110100", "110108", "100080"),
    ("四川省", "成都市", "武侯区", "510000", "510100", "510107", "610041"),
    ("江苏省", "南京市", "鼓楼区", "320000", "320100", "320106", "210008"),
]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "欧阳娜娜", "赵敏"]
PRODUCTS = ["西湖龙井 明前特级 250g", "蓝牙耳机 降噪版", "纯棉T恤 白色 L", "保温杯 500ml", "手机壳 透明"]


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label:<44} {now - started:7.1f} s", flush=True)
    return now


def people(shops: int, couriers: int) -> tuple[list[int], list[int]]:
    """Sellers with a shop each, couriers with grants in SHOPS_PER_COURIER shops; the operator."""
    from portal.services import passwords, waybills

    password_hash = passwords.hash_password(PASSWORD)
    now = utcnow()
    users = [{"username": "operator", "password_hash": password_hash, "is_operator": True}]
    users += [{"username": f"seller{n}", "password_hash": password_hash} for n in range(1, shops + 1)]
    users += [{"username": f"courier{n}", "password_hash": password_hash} for n in range(1, couriers + 1)]
    db.session.execute(insert(User), users)
    ids = dict(db.session.execute(select(User.username, User.id)).all())
    db.session.execute(
        insert(Shop),
        [{"name": f"店铺{n:03d}", "owner_id": ids[f"seller{n}"], "created_at": now} for n in range(1, shops + 1)],
    )
    shop_ids = list(db.session.scalars(select(Shop.id).order_by(Shop.id)))
    waybills.ensure_default_companies()
    from portal.models import CourierCompany

    zto = db.session.scalar(select(CourierCompany).where(CourierCompany.code == "ZTO"))
    grants = []
    for c in range(couriers):
        for k in range(SHOPS_PER_COURIER):
            grants.append(
                {
                    "shop_id": shop_ids[(c * SHOPS_PER_COURIER + k) % len(shop_ids)],
                    "user_id": ids[f"courier{c + 1}"],
                    "view_recipient": True,
                    "export_addresses": True,
                    "print_labels": True,
                    "mark_shipped": True,
                    "company_id": zto.id,  # courier1 prints its shops' ZTO ranges
                }
            )
    db.session.execute(insert(CourierGrant), grants)
    operator = db.session.get(User, ids["operator"])
    for n, shop_id in enumerate(shop_ids[:SHOPS_PER_COURIER]):  # courier1's shops can print
        start = f"78{n:02d}{0:010d}"
        waybills.create_range(db.session.get(Shop, shop_id), zto, start=start, count=1_000_000, actor=operator)
    db.session.commit()
    return shop_ids, [ids[f"courier{n}"] for n in range(1, couriers + 1)]


def order_rows(shop_ids: list[int], total: int, seed: int = 8):
    """(order row, item row) tuples, as dicts of column values, ids given."""
    rng = random.Random(seed)  # noqa: S311  (made-up data)
    now = utcnow()
    per_shop = total // len(shop_ids)
    order_id = 0
    for shop_index, shop_id in enumerate(shop_ids):
        position = 0
        for status, share in STATES:
            count = round(per_shop * share) if status != STATES[-1][0] else per_shop - position
            for _ in range(count):
                order_id += 1
                position += 1
                place = PLACES[order_id % len(PLACES)]
                name = NAMES[order_id % len(NAMES)]
                product = PRODUCTS[order_id % len(PRODUCTS)]
                if status == "shipped":
                    paid = now - timedelta(days=rng.uniform(1, 180))
                elif status == "cancelled":
                    paid = now - timedelta(days=rng.uniform(1, 120))
                else:
                    paid = now - timedelta(hours=rng.uniform(0, 72))
                shipped = paid + timedelta(hours=rng.uniform(2, 60)) if status == "shipped" else None
                tracking = f"BW{shop_index:03d}{order_id:09d}" if status in ("labelled", "packed", "shipped") else None
                quantity = 1 + order_id % 3
                yield (
                    {
                        "id": order_id,
                        "shop_id": shop_id,
                        "platform_order_no": f"{3900000000000000 + order_id}",
                        "status": status,
                        "source": "import",
                        "buyer_nick": f"tb{order_id:08d}",
                        "recipient_name": name,
                        "recipient_phone": f"13{order_id % 1000000000:09d}",
                        "address_raw": f"{place[0]} {place[1]} {place[2]} 文三路{order_id % 500}号",
                        "province": place[0],
                        "city": place[1],
                        "district": place[2],
                        "address_detail": f"文三路{order_id % 500}号",
                        "postcode": place[6],
                        "province_code": place[3],
                        "city_code": place[4],
                        "district_code": place[5],
                        "item_summary": f"{product} ×{quantity}",
                        "item_count": quantity,
                        "amount_cents": 1990 * quantity,
                        "paid_at": paid,
                        "ship_by": paid + timedelta(hours=48),
                        "courier_company": "ZTO" if tracking else "",
                        "tracking_no": tracking,
                        "created_at": paid,
                        "updated_at": shipped or paid,
                        "shipped_at": shipped,
                    },
                    {"order_id": order_id, "title": product, "sku": f"SKU{order_id % 97}", "quantity": quantity},
                )


def complete(table, rows: list[dict]) -> tuple[list[str], list[tuple]]:
    """Column names and value tuples with every column filled: the given value, else the column's default."""
    defaults = {}
    for column in table.columns:
        if column.default is not None and not column.default.is_callable and not column.default.is_clause_element:
            defaults[column.name] = column.default.arg
        elif column.default is not None and column.default.is_callable:
            defaults[column.name] = column.default.arg(None)
        elif column.server_default is not None:
            defaults[column.name] = getattr(column.server_default, "arg", None)
            defaults[column.name] = getattr(defaults[column.name], "text", defaults[column.name])
        else:
            defaults[column.name] = None
    names = [c.name for c in table.columns if not (c.primary_key and c.name not in rows[0])]
    return names, [tuple(row.get(name, defaults[name]) for name in names) for row in rows]


def copy_rows(connection, table, rows: list[dict]) -> None:
    names, values = complete(table, rows)
    columns = ", ".join(f'"{name}"' for name in names)
    dbapi = connection.connection.driver_connection
    with dbapi.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for value in values:
            copy.write_row(value)


def insert_rows(connection, table, rows: list[dict]) -> None:
    names, values = complete(table, rows)
    columns = ", ".join(f'"{name}"' for name in names)
    placeholders = ", ".join("?" for _ in names)
    dbapi = connection.connection.driver_connection
    # SQLite keeps times as naive UTC text, as SQLAlchemy writes them.
    values = [tuple(_sqlite_value(v) for v in row) for row in values]
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({placeholders})'  # noqa: S608  (our own table)
    dbapi.executemany(sql, values)


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def bring_up_to_models(engine) -> list[str]:
    """A world seeded before the models grew: create the new tables, add the new columns (with their server
    default, else their default, else NULL), so a bench runs on it without seeding again. The added names."""
    from sqlalchemy import inspect
    from sqlalchemy.schema import CreateColumn

    db.metadata.create_all(engine, checkfirst=True)
    inspector = inspect(engine)
    added = []
    with engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = str(CreateColumn(column).compile(dialect=engine.dialect))
                if column.server_default is None and not column.nullable:
                    value = column.default.arg if column.default is not None and not column.default.is_callable else 0
                    literal_value = {True: "true", False: "false"}.get(value, repr(value))
                    ddl = ddl.replace(" NOT NULL", "") + f" DEFAULT {literal_value}"
                connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))
                added.append(f"{table.name}.{column.name}")
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL")
    parser.add_argument("--shops", type=int, default=500)
    parser.add_argument("--couriers", type=int, default=50)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--reset", action="store_true", help="drop every table first")
    args = parser.parse_args()
    if not args.database:
        parser.error("set DATABASE_URL or pass --database")
    uri = args.database
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    started = begun = time.perf_counter()
    print(f"seeding {make_url(uri).render_as_string(hide_password=True)}", flush=True)
    with app.app_context():
        if args.reset:
            db.drop_all()
        db.create_all()
        if db.session.scalar(select(func.count()).select_from(Order)):
            sys.exit("the database already holds orders: pass --reset to start again")
        started = step("schema", started)
        shop_ids, _couriers = people(args.shops, args.couriers)
        started = step(f"{args.shops} shops, {args.couriers + args.shops + 1} people, grants, ranges", started)
        postgres = db.engine.dialect.name == "postgresql"
        chunk = 100_000 if postgres else 50_000
        with db.engine.begin() as connection:
            orders, items = [], []
            for order, item in order_rows(shop_ids, args.orders):
                orders.append(order)
                items.append(item)
                if len(orders) >= chunk:
                    (copy_rows if postgres else insert_rows)(connection, Order.__table__, orders)
                    (copy_rows if postgres else insert_rows)(connection, OrderItem.__table__, items)
                    orders, items = [], []
            if orders:
                (copy_rows if postgres else insert_rows)(connection, Order.__table__, orders)
                (copy_rows if postgres else insert_rows)(connection, OrderItem.__table__, items)
            if postgres:
                connection.execute(
                    text("""SELECT setval(pg_get_serial_sequence('"order"', 'id'), max(id)) FROM "order\"""")
                )
        started = step(f"{args.orders:,} orders and their items", started)
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        step("ANALYZE", started)
        total = db.session.scalar(select(func.count()).select_from(Order))
        by_state = dict(db.session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        db.session.remove()
        db.engine.dispose()
    print(f"{total:,} orders {by_state} in {time.perf_counter() - begun:.0f} s")


if __name__ == "__main__":
    main()
