"""Load the portal on gunicorn with wrk through its hot paths, side by side with their lean twins (bench/lean.py).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/load.py
        [--workers 4] [--seconds 10] [--connections 8] [--rounds 3] [--explain]
        [--growth postgresql://.../portal_10k,postgresql://.../portal_100k,postgresql://.../portal_1m]

Needs a world from bench/seed_world.py and Debian's ``wrk`` (installed with apt-get when run as
root and missing). Starts ``gunicorn -c gunicorn.conf.py`` (production settings, access log off)
serving, from the same workers, the portal, a bare Flask route (``/_bare``) and the lean twins
(``/_lean/...``, bench/lean.py: the same work done as plainly as Flask + SQLAlchemy Core + Jinja
allow, over the same database), signs in as courier1 over HTTP like a browser, and runs wrk on each
path and its twin, one after the other, for ``--rounds`` rounds (the twin first in every other round):

    path          portal                                 lean twin
    bare          GET  /_bare                            -
    queue         GET  /courier/queue                    GET  /_lean/queue          (courier1's 10 shops, 50 rows)
    queue-1-shop  GET  /courier/queue?shop=S             GET  /_lean/queue?shop=S
    api-queue     GET  /api/v1/queue?limit=100           GET  /_lean/queue.json?limit=100   (Bearer token)
    pickup-scan   POST /courier/pickups/P/scan           POST /_lean/pickups/P/scan  (conditional UPDATE + commit)
    search        GET  /courier/queue?status=&q=...      -
    print-page    GET  /courier/print-jobs/J             -  (a 50-label job)

Prints, per path, the median over the rounds of req/s, p50 and p99 for the portal and its twin, and
the portal's req/s as a percentage of its twin's (the median of the rounds' ratios); then each
worker's memory (RSS and PSS). ``--growth`` then serves each of those databases in turn (worlds of
different sizes) and prints the queue page's p50, p99 and req/s at each, with its twin's, and the
largest world's p50 over the smallest's. ``--explain`` also prints PostgreSQL's plan of every query
those requests make and flags sequential scans. Scans pick random parcels of courier1's first shop:
the first scan of each ships it, later ones answer "already shipped" (the twin's UPDATE then matches
no row); both commit. The print page's job is voided after the run, its orders back to pending, so that runs
do not eat the queue they measure; a run refuses a world whose queue no longer shows a page of 50.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PASSWORD = "bench-password-1"  # noqa: S105  (bench/seed_world.py)
BIG_TABLES = ("order", "order_item", "order_event", "audit_event", "pickup_scan", "waybill", "print_job_item")


def application():
    """The portal with a bare Flask route and the lean twins in front: gunicorn serves all from the same workers."""
    from flask import Flask
    from lean import create_lean_app

    from wsgi import app as portal

    bare = Flask("bare")

    @bare.get("/_bare")
    def bare_route():
        return "ok"

    config = portal.config
    lean = create_lean_app(
        config["SQLALCHEMY_DATABASE_URI"],
        config["SECRET_KEY"],
        config.get("SQLALCHEMY_ENGINE_OPTIONS"),
        zone=config["BABEL_DEFAULT_TIMEZONE"],
    )

    def dispatch(environ, start_response):
        path = environ.get("PATH_INFO", "")
        target = lean if path.startswith("/_lean/") else bare if path == "/_bare" else portal
        return target(environ, start_response)

    return dispatch


if os.environ.get("PORTAL_BENCH_SERVE"):
    app = application()


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None and os.geteuid() == 0:
        print("installing wrk (Debian package)...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)  # noqa: S607
        wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    return wrk


def fixtures(uri: str) -> dict:
    """A pickup, a 50-label print job and an API token for courier1, and what the paths need."""
    from seed_world import bring_up_to_models
    from sqlalchemy import func, select

    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.models import Order, OrderStatus, PickupScan, Shop

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    with app.app_context():
        from portal.services import accounts, scanning, shops

        for name in bring_up_to_models(db.engine):
            print(f"added {name} (the models grew since the world was seeded)")
        courier = accounts.find_user("courier1")
        shop_ids = sorted(grant.shop_id for grant in shops.active_grants(courier))
        first = shop_ids[0]
        pickup = scanning.start_pickup(db.session.get(Shop, first), courier=courier)
        packed = list(
            db.session.scalars(
                select(Order.tracking_no).where(Order.shop_id == first, Order.status == OrderStatus.PACKED)
            )
        )
        if not packed:  # earlier runs shipped them all: scan those again, each answered "already shipped"
            packed = list(
                db.session.scalars(
                    select(Order.tracking_no)
                    .join(PickupScan, PickupScan.order_id == Order.id)
                    .where(PickupScan.pickup_id == pickup.id)
                )
            )
            print(f"no packed parcel left: pickup-scan scans the {len(packed)} that earlier runs shipped")
        # The print job labels 50 pending orders each run: take them from the other shop with the most left, so
        # that repeated runs neither empty queue-1-shop's page nor run out.
        waiting = dict(
            db.session.execute(
                select(Order.shop_id, func.count())
                .where(Order.shop_id.in_(shop_ids[1:] or shop_ids), Order.status == OrderStatus.PENDING)
                .group_by(Order.shop_id)
            ).all()
        )
        print_shop = max(waiting, key=waiting.get) if waiting else first
        pending = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.shop_id == print_shop, Order.status == OrderStatus.PENDING)
                .order_by(Order.ship_by.desc())
                .limit(50)
            )
        )
        number = db.session.scalar(select(Order.platform_order_no).where(Order.shop_id == shop_ids[-1]).limit(1))
        token = None
        try:
            from portal.services import tokens

            token = tokens.create_token(
                courier, name=f"bench {time.time():.0f}", scopes=tokens.available_scopes(courier)
            ).secret
        except Exception as error:  # the API may not be there yet
            print(f"no API token ({error}): api-queue skipped")
        db.session.commit()
        result = {
            "shop_ids": shop_ids,
            "pickup_id": pickup.id,
            "packed": packed,
            "pending": pending,
            "search": number[-10:],
            "token": token,
        }
        db.session.remove()
        db.engine.dispose()
    return result


def lua_script(cookie: str, method: str = "GET", body: str = "", codes: list[str] | None = None) -> str:
    lines = [f"wrk.method = {json.dumps(method)}", f'wrk.headers["Cookie"] = {json.dumps(cookie)}']
    if method == "POST":
        lines.append('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
        lines.append('wrk.headers["HX-Request"] = "true"')
    if codes:
        lines.append("codes = {" + ",".join(json.dumps(c) for c in codes) + "}")
        lines.append(
            "request = function() return wrk.format(nil, nil, nil, "
            f"{json.dumps(body)} .. codes[math.random(#codes)]) end"
        )
    elif body:
        lines.append(f"wrk.body = {json.dumps(body)}")
    return "\n".join(lines) + "\n"


def run_wrk(wrk: str, url: str, script: str, args, headers: dict | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = [wrk, "--latency", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, "-s", handle.name, url], capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss / 1024, pss / 1024


def explain(uri: str, paths: dict[str, tuple[str, str, dict | None]]) -> None:
    """Run each path once in-process, catch its SQL, and print PostgreSQL's plan of every statement."""
    from sqlalchemy import event

    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.services import accounts

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    with app.app_context():
        session_id = accounts.find_user("courier1").get_id()
        engine = db.engine
    if engine.dialect.name != "postgresql":
        print("--explain needs PostgreSQL")
        return
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    caught: list[tuple[str, object]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many):
        caught.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    print("\nEXPLAIN of every query in each path (sequential scans on big tables flagged):")
    for name, (method, path, data) in paths.items():
        caught.clear()
        if name == "bare":
            continue
        headers = {"HX-Request": "true"} if method == "POST" else {}
        response = client.open(path, method=method, data=data, headers=headers)
        statements = list(caught)
        print(f"\n[{name}] {method} {path} -> {response.status_code}, {len(statements)} statements")
        with engine.connect() as connection:
            for statement, parameters in statements:
                if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")):
                    continue
                plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters or {}).scalars().all()
                seq = [
                    line
                    for line in plan
                    if "Seq Scan" in line and any(f"on {t} " in line + " " or f'on "{t}"' in line for t in BIG_TABLES)
                ]
                first = " ".join(statement.split())[:110]
                top = plan[0].strip()[:90]
                flag = "  <-- SEQ SCAN: " + seq[0].strip() if seq else ""
                print(f"  {first}\n      {top}{flag}")
                scans = [line.strip() for line in plan if "Scan" in line]
                for line in scans[:4]:
                    print(f"        {line[:110]}")
            connection.rollback()
    event.remove(engine, "before_cursor_execute", catch)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def database_uri(uri: str) -> str:
    return "postgresql+psycopg://" + uri.removeprefix("postgresql://") if uri.startswith("postgresql://") else uri


class Server:
    """gunicorn serving the portal, the bare route and the lean twins on one database; courier1 signed in."""

    def __init__(self, uri: str, args, tmp: Path):
        from tests.ops.servers import Browser, Gunicorn, free_port, production_env

        self.uri, self.world = uri, fixtures(uri)
        self.port = free_port()
        env = production_env(uri, self.port, WEB_CONCURRENCY=str(args.workers), PORTAL_BENCH_SERVE="1")
        env["FLASK_RATELIMIT_ENABLED"] = "false"
        env["PORTAL_JOBS_CONSUMER"] = "off"
        self.server = Gunicorn(env, tmp / f"gunicorn-{self.port}.log", app="bench.load:app")
        self.server.wait_ready()
        self.browser = Browser(self.port)
        self.browser.sign_in("courier1", PASSWORD)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop()


def plan(server: Server, args) -> dict[str, tuple]:
    """name -> (portal request, twin request or None); a request is (method, path, codes to scan or None)."""
    world, browser = server.world, server.browser
    wanted = args.only.split(",") if args.only else None
    _status, _headers, page = browser.get("/courier/queue")
    shown = page.count('name="order_ids"')
    if shown != 50:
        raise SystemExit(
            f"courier1's queue shows {shown} orders, not a page of 50: this world has run out of pending orders;"
            " seed another (bench/seed_world.py)"
        )
    status, job_path = None, ""
    if wanted is None or "print-page" in wanted:  # the job labels 50 pending orders: returned after the run
        status, headers, _text = browser.post(
            "/courier/print-jobs",
            {"company": "ZTO", "size": "100x150", "scope": "selected", "order_ids": world["pending"]},
        )
        job_path = headers.get("Location", "").removesuffix("/summary")  # the job's labels, not its page
    browser.get(f"/courier/pickups/{world['pickup_id']}")  # the page's CSRF token
    shop = world["shop_ids"][0]
    paths = {
        "bare": (("GET", "/_bare", None), None),
        "queue": (("GET", "/courier/queue", None), ("GET", "/_lean/queue", None)),
        "queue-1-shop": (("GET", f"/courier/queue?shop={shop}", None), ("GET", f"/_lean/queue?shop={shop}", None)),
    }
    if world["token"]:
        paths["api-queue"] = (("GET", "/api/v1/queue?limit=100", None), ("GET", "/_lean/queue.json?limit=100", None))
    if world["packed"]:
        pickup = world["pickup_id"]
        paths["pickup-scan"] = (
            ("POST", f"/courier/pickups/{pickup}/scan", world["packed"]),
            ("POST", f"/_lean/pickups/{pickup}/scan", world["packed"]),
        )
    else:
        print("no parcel to scan in courier1's first shop: pickup-scan skipped")
    paths["search"] = (("GET", f"/courier/queue?status=&q={world['search']}", None), None)
    if status == 302 and "/print-jobs/" in job_path:
        paths["print-page"] = (("GET", job_path.replace(server.base, ""), None), None)
    elif status is not None:
        print(f"print job not created ({status}): print-page skipped")
    if wanted:
        paths = {name: value for name, value in paths.items() if name in wanted}
    return paths


def back_to_the_queue(uri: str, order_ids: list[int]) -> None:
    """After a run: the print job's orders go back to pending (their numbers voided, as a courier voids a label),
    so that the next run's queue shows the same page and the world does not run out of pending orders."""
    from sqlalchemy import select

    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.models import Order, OrderStatus

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    with app.app_context():
        from portal.services import accounts, printing

        courier = accounts.find_user("courier1")
        query = select(Order).where(Order.id.in_(order_ids), Order.status == OrderStatus.LABELLED)
        for order in db.session.scalars(query):
            printing.void_label(order, actor=courier, reason="bench/load.py: the run is over")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def hit(wrk: str, server: Server, request: tuple, args) -> dict:
    method, path, codes = request
    token = server.world["token"] if "queue.json" in path or path.startswith("/api/") else None
    if method == "POST":
        script = lua_script(server.browser.cookie, "POST", f"csrf_token={server.browser.csrf}&code=", codes)
    else:
        script = lua_script("" if token else server.browser.cookie)
    return run_wrk(wrk, server.base + path, script, args, {"Authorization": f"Bearer {token}"} if token else None)


def side_by_side(wrk: str, server: Server, paths: dict, args) -> dict[str, dict]:
    """Each path and its twin, one after the other, ``args.rounds`` times (the twin first every other round)."""
    runs: dict[str, dict[str, list]] = {name: {"portal": [], "lean": []} for name in paths}
    for round_no in range(args.rounds):
        for name, (portal, twin) in paths.items():
            order = [("portal", portal), ("lean", twin)] if twin else [("portal", portal)]
            if round_no % 2:
                order.reverse()
            for side, request in order:
                result = hit(wrk, server, request, args)
                runs[name][side].append(result)
                print(
                    f"  round {round_no + 1} {name:<13} {side:<6} {result['rps']:8.1f} req/s   p50 {result['p50']:6.1f}"
                    f" ms   p99 {result['p99']:6.1f} ms   {result['errors']} not 2xx/3xx",
                    flush=True,
                )
    return runs


def summary(runs: dict[str, dict], title: str) -> None:
    print(f"\n{title}: median of the rounds (% = portal req/s / twin req/s, median of the rounds' ratios)")
    print(f"{'path':<13} {'portal req/s':>12} {'p50':>7} {'p99':>7}   {'twin req/s':>10} {'p50':>7} {'p99':>7}   share")
    for name, sides in runs.items():
        portal, lean = sides["portal"], sides["lean"]

        def median(results, key):
            return statistics.median(r[key] for r in results)

        line = f"{name:<13} {median(portal, 'rps'):12.1f} {median(portal, 'p50'):7.1f} {median(portal, 'p99'):7.1f}"
        if lean:
            share = statistics.median(p["rps"] / t["rps"] for p, t in zip(portal, lean, strict=True))
            line += (
                f"   {median(lean, 'rps'):10.1f} {median(lean, 'p50'):7.1f} {median(lean, 'p99'):7.1f}   {share:5.0%}"
            )
        print(line + "   (ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print the plan of every hot-path query")
    parser.add_argument("--only", help="comma-separated path names")
    parser.add_argument("--growth", help="comma-separated database URLs (worlds of growing size): the queue page")
    args = parser.parse_args()
    if not args.database and not args.growth:
        parser.error("set DATABASE_URL or pass --database (or --growth)")
    wrk = ensure_wrk()
    print(f"gunicorn: {args.workers} sync workers; wrk: {args.connections} connections, {args.seconds} s a run")
    with tempfile.TemporaryDirectory() as tmp:
        if args.database:
            uri = database_uri(args.database)
            server = Server(uri, args, Path(tmp))
            try:
                paths = plan(server, args)
                summary(side_by_side(wrk, server, paths, args), uri.rsplit("/", 1)[-1])
                workers = sorted(server.server.workers())
                for pid in [server.server.process.pid, *workers]:
                    rss, pss = memory(pid)
                    role = "master" if pid == server.server.process.pid else "worker"
                    print(f"  {role} {pid}: RSS {rss:6.1f} MB, PSS {pss:6.1f} MB")
            finally:
                server.stop()
                back_to_the_queue(uri, server.world["pending"])
            if args.explain:
                explain(uri, {name: (portal[0], portal[1], None) for name, (portal, _twin) in paths.items()})
        if args.growth:
            growth(wrk, [database_uri(url) for url in args.growth.split(",")], args, Path(tmp))


def growth(wrk: str, uris: list[str], args, tmp: Path) -> None:
    """The queue page (and its twin) on worlds of growing size: p50 at the largest over p50 at the smallest."""
    from sqlalchemy import create_engine, text

    figures = []
    for uri in uris:
        engine = create_engine(uri)
        with engine.connect() as connection:
            orders = connection.execute(text('SELECT count(*) FROM "order"')).scalar()
        engine.dispose()
        server = Server(uri, args, tmp)
        try:
            paths = {"queue": (("GET", "/courier/queue", None), ("GET", "/_lean/queue", None))}
            rows = server.browser.get("/courier/queue")[2].count('name="order_ids"')
            runs = side_by_side(wrk, server, paths, args)["queue"]
        finally:
            server.stop()
        figures.append((orders, rows, runs))
    print("\ngrowth: the queue page (courier1) by the size of the order table; median of the rounds")
    print(f"{'orders':>10} {'rows':>5} {'req/s':>8} {'p50':>7} {'p99':>7}   {'twin req/s':>10} {'p50':>7} {'p99':>7}")
    for orders, rows, runs in figures:

        def median(side, key, runs=runs):
            return statistics.median(r[key] for r in runs[side])

        print(
            f"{orders:>10,} {rows:>5} {median('portal', 'rps'):8.1f} {median('portal', 'p50'):7.1f}"
            f" {median('portal', 'p99'):7.1f}"
            f"   {median('lean', 'rps'):10.1f} {median('lean', 'p50'):7.1f} {median('lean', 'p99'):7.1f}   (ms)"
        )
    first, last = figures[0][2]["portal"], figures[-1][2]["portal"]
    p50_first = statistics.median(r["p50"] for r in first)
    p50_last = statistics.median(r["p50"] for r in last)
    rps_first = statistics.median(r["rps"] for r in first)
    rps_last = statistics.median(r["rps"] for r in last)
    print(
        f"largest world / smallest: p50 {p50_last / p50_first:.2f}x, time per request (1/req/s) "
        f"{rps_first / rps_last:.2f}x (target: within 1.5x)"
    )


if __name__ == "__main__":
    main()
