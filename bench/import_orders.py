"""Benchmark the order import against its floor: the same rows read plainly and inserted into the real tables.

    .venv/bin/python bench/import_orders.py [--rows 50000] [--rounds 3] [--items] [--keep]
    tests/with_postgres.sh sh -c '.venv/bin/python bench/import_orders.py --database "$TEST_DATABASE_URL"'

Writes a Taobao 2017-layout export (GBK, 46 columns, every quirk) into a temp dir, builds an app on a temp
SQLite database (or the empty database ``--database`` names: its tables are created, then dropped) with one
shop, then times: the old baseline (the csv module + sqlite3 ``executemany`` into a plain table, fastest of
three); ``preview_import``; then ``--rounds`` times, in turn, the floor (``floor_import``: the csv module reads
the file, its pending rows go into the real ``order`` table with its indexes, their items into ``order_item``,
one commit; by Core executemany, by the driver's executemany of tuples, and on PostgreSQL by COPY, which the
import uses there too: the fastest is the floor) and ``apply_import`` + commit, each into a fresh shop. The
best of each counts, and the stored rows of the floor and of the import are checked equal. The target:
apply + commit at most 2x the floor. The floor leaves out what only the import does (validation, duplicates,
known orders, exemptions, audit, progress) and the address placement, timed on its own line.
The address parser (cnloc) loads on first use, about a second: that warm-up is timed on its own, as every
worker pays it once. Memory is measured in a separate run (tracemalloc slows Python down) into another shop:
tracemalloc's peak per phase and the process's peak RSS.
"""

import argparse
import csv
import random
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, insert, inspect, select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Order, OrderItem  # noqa: E402
from portal.models.base import utcnow  # noqa: E402
from portal.services import accounts, imports, regions, shops  # noqa: E402
from portal.services.orders import CHINA  # noqa: E402
from tests.data.make_samples import DETAIL_COLUMNS, PENDING, TAOBAO_2017_COLUMNS, taobao_row  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏宇浩凯婷雪琳晨欣怡子涵梓轩雨泽思远嘉懿"
# fmt: off
ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "文化路", "胜利路", "朝阳路", "光明街", "滨江大道",
         "科技园路", "学院路", "长江路", "黄河路", "幸福里", "工业园区", "世纪大道", "东风路", "青年路")
# fmt: on
COMMUNITIES = ("阳光花园", "金色家园", "翠苑小区", "万科城", "碧桂园", "绿城桂花园", "恒大名都", "保利花园", "")
# (title, SKU, unit price)
ITEMS = (
    ("西湖龙井 明前特级 250g", "LJ-250", 178.0), ("安吉白茶 礼盒装", "AJ-BOX", 268.0),
    ("紫砂壶 300ml", "ZS-300", 399.0), ("祁门红茶 罐装 100g", "QM-100", 58.0),
    ("福鼎白茶 白牡丹 100g", "BMD-100", 61.0),
    ("武夷岩茶 大红袍 100g", "DHP-100", 98.0), ("普洱 熟茶 357g 饼", "PE-357", 260.0),
    ("茶具套装 青花瓷 六杯", "CJ-6", 129.0),
)  # fmt: skip
OTHER_STATUSES = ("等待买家付款", "卖家已发货，等待买家确认", "交易成功", "交易关闭")
# Baseline runs per variant; the fastest counts (see best_baseline).
BASELINE_RUNS = 3
MESSAGES = ("", "", "", "", "请尽快发货", "周末送货 谢谢", "不要放快递柜", "送人的，请不要放价格单")
# The 14 columns the import reads, as the export names them.
FLOOR_COLUMNS = (
    "订单编号",
    "买家会员名",
    "收货人姓名",
    "收货地址",
    "修改后的收货地址",
    "联系手机",
    "联系电话",
    "订单状态",
    "订单付款时间",
    "宝贝标题",
    "宝贝总数量",
    "买家留言",
    "订单备注",
    "买家实际支付金额",
)
# The order columns the address placement fills, and an item's columns (the floor's rows).
PLACE_KEYS = ("province", "city", "district", "address_detail", "postcode", "province_code", "city_code",
              "district_code", "address_flagged")  # fmt: skip
ITEM_KEYS = ("order_id", "title", "sku", "attributes", "quantity", "price_cents")
MEMOS = ("", "", "", "", "", "老客户 送小样", "已电话确认地址", '=HYPERLINK("http://x","y")')


def districts() -> list[tuple[str, str, str]]:
    """(province, city, district) as buyers write them, from the shipped region table."""
    by_code = {}
    with regions.REGION_TABLE.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_code[row["code"]] = row
    places = []
    for row in by_code.values():
        if row["level"] != "district":
            continue
        city = by_code[row["parent_code"]]
        province = by_code[city["parent_code"]]
        if city["name"] in ("市辖区", "县"):  # 北京 北京市 朝阳区
            places.append((province["name"].removesuffix("市"), province["name"], row["name"]))
        elif "直辖" not in city["name"]:
            places.append((province["name"], city["name"], row["name"]))
    return places


def write_export(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """The orders file (GBK, 46 columns) and its items file; about 10 % of rows are not waiting to ship."""
    rng = random.Random(seed)  # noqa: S311 (made-up data)
    places = districts()
    now = datetime(2024, 6, 18, 20, 0, 0)
    orders_path, items_path = folder / "ExportOrderList202406182000.csv", folder / "ExportOrderDetailList.csv"
    with (
        orders_path.open("w", encoding="gbk", newline="") as orders_file,
        items_path.open("w", encoding="gbk", newline="") as items_file,
    ):
        orders_out = csv.writer(orders_file, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        items_out = csv.writer(items_file, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        orders_out.writerow(TAOBAO_2017_COLUMNS)
        items_out.writerow(DETAIL_COLUMNS)
        for n in range(rows):
            order_no = f"{2024061800000000000 + n * 7919 + rng.randrange(7919):019d}"
            province, city, district = rng.choice(places)
            if rng.random() < 0.03:
                district = "其它区"
            detail = f"{rng.choice(ROADS)}{rng.randrange(1, 999)}号{rng.choice(COMMUNITIES)}"
            detail += f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元{rng.randrange(101, 2606)}室"
            postcode = "000000" if rng.random() < 0.2 else f"{rng.randrange(100000, 860000):06d}"
            address = f"{province} {city} {district} {detail}({postcode})"
            bought = rng.sample(ITEMS, rng.choice((1, 1, 1, 1, 2, 3)))
            quantities = [rng.choice((1, 1, 1, 2, 3)) for _ in bought]
            amount = sum(price * q for (_t, _s, price), q in zip(bought, quantities, strict=True))
            landline_only = rng.random() < 0.02
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**8, 10**9)}"
            orders_out.writerow(
                taobao_row(
                    order_no,
                    name=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2, 2)))),
                    nick=f"tb{rng.randrange(10**7, 10**9)}",
                    address=address,
                    modified_address=address.replace(detail, "新" + detail) if rng.random() < 0.02 else "",
                    mobile="" if landline_only else phone,
                    landline=f"0571-{rng.randrange(10**7, 10**8)}" if landline_only else "",
                    status=PENDING if rng.random() < 0.9 else rng.choice(OTHER_STATUSES),
                    paid=(now - timedelta(seconds=rng.randrange(3 * 86400))).strftime("%Y-%m-%d %H:%M:%S"),
                    title="，".join(title for title, _s, _p in bought),
                    quantity=sum(quantities),
                    amount=f"{amount:.2f}",
                    message=rng.choice(MESSAGES),
                    memo=rng.choice(MEMOS),
                )
            )
            for (title, sku, price), quantity in zip(bought, quantities, strict=True):
                items_out.writerow(
                    (f'="{order_no}"', title, f"{price:.2f}", quantity, "", "颜色分类：默认", "", "", PENDING, sku)
                )
    return orders_path, items_path


def baseline(orders_path: Path, db_path: Path, columns: list[int] | None) -> int:
    """csv module + sqlite3 executemany of the rows (all columns, or only those the import reads)."""
    conn = sqlite3.connect(db_path)
    with orders_path.open(encoding="gbk", newline="") as f:
        reader = csv.reader(f)
        width = len(next(reader))
        keep = columns or list(range(width))
        conn.execute(f"CREATE TABLE raw_order ({', '.join(f'c{i} TEXT' for i in keep)})")
        rows = ([row[i] for i in keep] for row in reader)
        placeholders = ", ".join("?" * len(keep))
        conn.executemany(f"INSERT INTO raw_order VALUES ({placeholders})", rows)  # noqa: S608 (no user input)
    conn.commit()
    count = conn.execute("SELECT count(*) FROM raw_order").fetchone()[0]
    conn.close()
    return count


def best_baseline(orders_path: Path, stem: Path, columns: list[int] | None) -> tuple[int, float]:
    """(rows, seconds) of the fastest of BASELINE_RUNS baseline runs, each into a fresh database file.

    The best, not the first: on a shared machine one run may be slowed down by other work, and a slow baseline
    would flatter the import's ratio.
    """
    results = [
        timed("baseline", baseline, orders_path, stem.with_name(f"{stem.name}-{run}.sqlite3"), columns)
        for run in range(BASELINE_RUNS)
    ]
    return min(results, key=lambda result: result[1])


# The floor: the same rows read plainly and inserted plainly into the real tables -------------------------------


def _cell(text: str) -> str:
    """A cell without the export's quirks (``="…"``, a leading ``'``, spaces), as the import reads it."""
    text = text.strip()
    if text.startswith('="') and text.endswith('"'):
        return text[2:-1].strip()
    return text[1:].strip() if text.startswith("'") else text


def floor_import(
    orders_path: Path,
    items_path: Path | None,
    shop_id: int,
    promise: timedelta,
    places: dict[str, tuple],
    way: str,
) -> int:
    """The floor: the csv module reads the file (and the items file); the pending rows go into the real ``order``
    table (its indexes and unique constraint) ``imports.CHUNK_ROWS`` at a time, their ids are read back, and
    their items go into ``order_item``; one commit. ``way``: "core", SQLAlchemy Core executemany of dicts; or
    "driver", the driver's executemany of tuples (``exec_driver_sql``), each value converted by its column
    type, every column given; on PostgreSQL also "copy", those tuples by COPY (as the import writes there). The
    fastest way is the floor.

    The rows are the ones the import stores, column for column (``stored_rows`` checks it), with only the
    conversions the cells need. Not here, as the floor has none of it: validation, duplicates, known orders,
    exemptions, the audit event, progress; and the address placement, which ``places`` (order number ->
    region columns, computed before the clock starts) stands for (timed on its own line of the report).
    """
    order, order_item = Order.__table__, OrderItem.__table__
    connection = db.session.connection()
    if way == "core":
        add_orders, add_items = _core_insert(connection, order), _core_insert(connection, order_item)
    else:
        copy = way == "copy"
        add_orders, add_items = _driver_insert(connection, order, copy), _driver_insert(connection, order_item, copy)
    ids_of = (
        select(order.c.platform_order_no, order.c.id)
        .where(order.c.shop_id == shop_id, order.c.platform_order_no.in_(bindparam("numbers", expanding=True)))
    )  # fmt: skip
    items_of: dict[str, list[tuple]] = {}
    if items_path is not None:
        with items_path.open(encoding="gbk", newline="") as f:
            reader = csv.reader(f)
            at = {name.strip(): i for i, name in enumerate(next(reader))}
            no, title, price, quantity = at["订单编号"], at["标题"], at["价格"], at["购买数量"]
            sku, attributes = at["商家编码"], at["商品属性"]
            for cells in reader:
                items_of.setdefault(_cell(cells[no]), []).append(
                    (
                        _cell(cells[title]),
                        _cell(cells[sku]),
                        _cell(cells[attributes]),
                        int(_cell(cells[quantity]) or 1),
                        round(float(_cell(cells[price]) or 0) * 100),
                    )
                )
    now = utcnow()
    count = 0
    with orders_path.open(encoding="gbk", newline="") as f:
        reader = csv.reader(f)
        at = {name.strip(): i for i, name in enumerate(next(reader))}
        columns = [at[name] for name in FLOOR_COLUMNS]
        rows, items = [], []

        def flush() -> None:
            add_orders(rows)
            order_ids = dict(connection.execute(ids_of, {"numbers": [row["platform_order_no"] for row in rows]}).all())
            add_items(
                [
                    dict(zip(ITEM_KEYS, (order_ids[row["platform_order_no"]], *item), strict=True))
                    for row, order_items in zip(rows, items, strict=True)
                    for item in order_items
                ]
            )

        for cells in reader:
            (
                no,
                nick,
                name,
                address,
                modified,
                mobile,
                landline,
                status,
                paid,
                title,
                quantity,
                message,
                memo,
                amount,
            ) = (_cell(cells[i]) for i in columns)
            if status != PENDING:
                continue
            paid_at = datetime.fromisoformat(paid).replace(tzinfo=CHINA)
            order_items = items_of.get(no) or [(title, "", "", int(quantity or 1), 0)]
            summary = "; ".join(f"{t} ×{q}" if q != 1 else t for t, _s, _a, q, _p in order_items)[:300]
            rows.append(
                {
                    "shop_id": shop_id,
                    "platform_order_no": no,
                    "status": "pending",
                    "source": "import",
                    "buyer_nick": nick,
                    "recipient_name": name,
                    "recipient_phone": mobile or landline,
                    "address_raw": modified or address,
                    **dict(zip(PLACE_KEYS, places[no], strict=True)),
                    "item_summary": summary,
                    "item_count": sum(q for _t, _s, _a, q, _p in order_items),
                    "amount_cents": round(float(amount or 0) * 100),
                    "buyer_message": message,
                    "seller_memo": memo,
                    "paid_at": paid_at,
                    "ship_by": paid_at + promise,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            items.append(order_items)
            if len(rows) == imports.CHUNK_ROWS:
                flush()
                count += len(rows)
                rows, items = [], []
        if rows:
            flush()
            count += len(rows)
    db.session.commit()
    return count


def _core_insert(connection, table) -> Callable[[list[dict]], None]:
    statement = insert(table)
    return lambda rows: connection.execute(statement, rows)


def _driver_insert(connection, table, copy: bool = False) -> Callable[[list[dict]], None]:
    """Rows of dicts as the driver's executemany of tuples (or COPY, PostgreSQL); every column but the id,
    defaults filled in."""
    dialect = connection.dialect
    columns = [column for column in table.columns if column.key != "id"]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    defaults = {c.key: c.default.arg for c in columns if c.default is not None and c.default.is_scalar}
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(dialect.identifier_preparer.quote(column.name) for column in columns)
    table_name = dialect.identifier_preparer.format_table(table)
    sql = f"INSERT INTO {table_name} ({names}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608
    keyed = list(zip([column.key for column in columns], processors, strict=True))

    def add(rows: list[dict]) -> None:
        params = []
        for row in rows:
            values = []
            for key, process in keyed:
                value = row[key] if key in row else defaults.get(key)
                values.append(process(value) if process and value is not None else value)
            params.append(tuple(values))
        if copy:  # the way the import writes on PostgreSQL, so the floor may use it too
            cursor = connection.connection.driver_connection.cursor()
            with cursor, cursor.copy(f"COPY {table_name} ({names}) FROM STDIN") as stream:
                for values in params:
                    stream.write_row(values)
        else:
            connection.exec_driver_sql(sql, params)

    return add


def places_of(orders_path: Path) -> dict[str, tuple]:
    """Order number -> the region columns the import stores for its address (the floor's stand-in for placing)."""
    with orders_path.open(encoding="gbk", newline="") as f:
        reader = csv.reader(f)
        at = {name.strip(): i for i, name in enumerate(next(reader))}
        no, address, modified, status = (at[name] for name in ("订单编号", "收货地址", "修改后的收货地址", "订单状态"))
        pending = [
            (_cell(c[no]), _cell(c[modified]) or _cell(c[address])) for c in reader if _cell(c[status]) == PENDING
        ]
    places = {}
    for start in range(0, len(pending), imports.CHUNK_ROWS):
        chunk = pending[start : start + imports.CHUNK_ROWS]
        for (order_no, _address), place in zip(chunk, regions.parse_addresses([a for _n, a in chunk]), strict=True):
            places[order_no] = (
                place.province,
                place.city,
                place.district,
                place.detail[:300],
                place.postcode,
                place.province_code,
                place.city_code,
                place.district_code,
                not place.placed,
            )
    return places


def stored_rows(shop_id: int) -> list[tuple]:
    """A shop's orders and their items as stored, without ids and times of writing: the floor's and the import's
    must be equal."""
    order, item = Order.__table__, OrderItem.__table__
    skip = {"id", "shop_id", "created_at", "updated_at", "import_batch_id"}
    columns = [c for c in order.columns if c.name not in skip]
    rows = db.session.execute(
        select(*columns, item.c.title, item.c.sku, item.c.attributes, item.c.quantity, item.c.price_cents)
        .join(item, item.c.order_id == order.c.id)
        .where(order.c.shop_id == shop_id)
        .order_by(order.c.platform_order_no, item.c.id)
    )
    return [tuple(row) for row in rows]


def timed(label: str, function: Callable, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    return value, seconds


def traced(function: Callable, *args, **kwargs):
    tracemalloc.start()
    try:
        value = function(*args, **kwargs)
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=20240618)
    parser.add_argument("--rounds", type=int, default=3, help="floor and import runs, in turn (the best counts)")
    parser.add_argument("--items", action="store_true", help="also import the items file (one row per item)")
    parser.add_argument(
        "--database", help="an empty throwaway database URL (PostgreSQL); its tables are created and dropped"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (files and databases)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    orders_path, items_path = write_export(folder, args.rows, args.seed)
    items = items_path if args.items else None
    size_mb = orders_path.stat().st_size / 2**20
    print(f"{args.rows} rows, {size_mb:.1f} MB GBK ({orders_path})" + (f" + items file {items_path}" if items else ""))

    with orders_path.open(encoding="gbk", newline="") as f:
        header = [h.strip() for h in next(csv.reader(f))]
    read_columns = [header.index(name) for name in FLOOR_COLUMNS]
    all_count, base_all = best_baseline(orders_path, folder / "baseline-all", None)
    _count, base_read = best_baseline(orders_path, folder / "baseline-read", read_columns)

    url = args.database or f"sqlite:///{folder / 'portal.sqlite3'}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if args.database and inspect(db.engine).has_table("order"):
            sys.exit(f"{db.engine.url.render_as_string()} already has an order table: give an empty database")
        db.create_all()
        version = ".".join(map(str, db.engine.dialect.server_version_info or ()))
        database = f"{db.engine.dialect.name} {version}"
        try:
            results = run(args, orders_path, items)
        finally:
            db.session.rollback()
            if args.database:
                db.drop_all()
    report(args, results, database, all_count, base_all, base_read)
    if args.keep:
        print(f"kept {folder}")
    else:
        import shutil

        shutil.rmtree(folder)


def run(args: argparse.Namespace, orders_path: Path, items: Path | None) -> dict:
    """Warm-up, preview, then the floor and the import alternating ``--rounds`` times, then the memory run."""
    owner = accounts.create_user("benchseller", "bench-password-2024", display_name="Bench")
    shop = shops.create_shop(owner, "Bench preview")
    db.session.commit()
    # No spaces, so the cnloc path (not the region-table fast path) runs and cnloc loads here.
    _places, warm = timed("warm-up", regions.parse_addresses, ["浙江省杭州市西湖区文三路90号(310012)"])
    rss_warm = rss_mb()

    report, preview_s = timed("preview", imports.preview_import, shop, orders_path, items)
    assert report.ok, report.errors[:5]
    places, place_s = timed("placement", places_of, orders_path)

    def apply_and_commit(target):
        result = imports.apply_import(target, orders_path, items, actor=owner, file_name=orders_path.name)
        db.session.commit()
        return result

    ways = ("core", "driver", "copy") if db.engine.dialect.name == "postgresql" else ("core", "driver")
    kinds = (*ways, "import")  # the floor's ways, then the import
    seconds_of: dict[str, list[float]] = {kind: [] for kind in kinds}
    first: dict[str, int] = {}
    for n in range(args.rounds):
        targets = {kind: shops.create_shop(owner, f"Bench {kind} {n}") for kind in kinds}
        db.session.commit()
        promise = timedelta(hours=shop.promise_hours)
        # Rotating which goes first: the tables grow by a file's rows with each run.
        for kind in kinds[n % len(kinds) :] + kinds[: n % len(kinds)]:
            if kind == "import":
                result, seconds = timed("apply", apply_and_commit, targets[kind])
                assert result.created == report.new, (result, report.new)
            else:
                args_ = (orders_path, items, targets[kind].id, promise, places, kind)
                count, seconds = timed("floor", floor_import, *args_)
                assert count == report.new, (count, report.new)
            seconds_of[kind].append(seconds)
        first = first or {kind: target.id for kind, target in targets.items()}
    imported = stored_rows(first["import"])
    for way in ways:
        assert stored_rows(first[way]) == imported, f"the floor ({way}) did not store the rows the import stores"
    rss_timed = rss_mb()

    memory_shop = shops.create_shop(owner, "Bench memory")
    db.session.commit()
    _report, preview_peak = traced(imports.preview_import, memory_shop, orders_path, items)
    _result, apply_peak = traced(apply_and_commit, memory_shop)
    return {
        "report": report,
        "warm": warm,
        "preview": preview_s,
        "placement": place_s,
        **seconds_of,
        "preview_peak": preview_peak,
        "apply_peak": apply_peak,
        "rss": (rss_warm, rss_timed, rss_mb()),
    }


def report(args, results: dict, database: str, all_count: int, base_all: float, base_read: float) -> None:
    imported = results["report"]
    core, driver, apply = (min(results[kind]) for kind in ("core", "driver", "import"))
    copy = min(results["copy"]) if "copy" in results else None
    floor = min(core, driver, copy or driver)
    print(
        f"pending orders imported: {imported.new} of {imported.rows} rows; "
        f"not waiting to ship: {sum(imported.not_pending.values())}; unplaced addresses: {imported.unplaced}"
    )
    print(f"database: {database}; {args.rounds} rounds, the floor's two ways and the import in turn, best of each")
    print()
    print(f"{'step':<50}{'seconds':>9}{'rows/s':>10}{'x floor':>9}{'x 14 read':>11}{'tracemalloc peak':>18}")
    lines = [
        ("baseline: csv + executemany, 46 columns", base_all, None, False),
        ("baseline: csv + executemany, 14 read", base_read, None, False),
        ("cnloc warm-up (once per process)", results["warm"], None, False),
        ("address placement (in the import, not the floor)", results["placement"], None, False),
        ("floor, Core: csv + executemany, order + items", core, None, True),
        ("floor, driver: csv + executemany of tuples", driver, None, True),
        *([("floor, COPY: csv + COPY of those tuples", copy, None, True)] if copy is not None else []),
        ("preview_import", results["preview"], results["preview_peak"], True),
        ("apply_import + commit", apply, results["apply_peak"], True),
    ]
    for label, seconds, peak, ratios in lines:
        rate = f"{all_count / seconds:,.0f}" if "warm" not in label else ""
        ratio_floor = f"{seconds / floor:.2f}" if ratios else ""
        ratio_read = f"{seconds / base_read:.1f}" if ratios else ""
        memory = f"{peak / 2**20:.1f} MB" if peak is not None else ""
        print(f"{label:<50}{seconds:>9.2f}{rate:>10}{ratio_floor:>9}{ratio_read:>11}{memory:>18}")
    print()
    kinds = [kind for kind in ("core", "driver", "copy", "import") if kind in results]
    runs = ", ".join("/".join(f"{s:.2f}" for s in each) for each in zip(*(results[k] for k in kinds), strict=True))
    print(f"each round, seconds of {'/'.join(kinds)}: {runs}")
    print(f"apply_import + commit = {apply / floor:.2f} x the floor (target: at most 2)")
    rss_warm, rss_timed, rss_end = results["rss"]
    print(
        f"peak RSS: {rss_warm:.0f} MB after the warm-up (cnloc), {rss_timed:.0f} MB after the timed runs, "
        f"{rss_end:.0f} MB at the end"
    )


if __name__ == "__main__":
    main()
