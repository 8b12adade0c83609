"""Load the portal on gunicorn with wrk through its hot paths, against a bare Flask route on the same server.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/load.py
        [--workers 4] [--seconds 10] [--connections 8] [--explain]

Needs a world from bench/seed_world.py and Debian's ``wrk`` (installed with apt-get when run as
root and missing). Starts ``gunicorn -c gunicorn.conf.py`` (production settings, access log off)
serving the portal plus one bare Flask route (``/_bare``, the ceiling: same server, same workers,
no portal), signs in as courier1 over HTTP like a browser, and runs wrk on each path in turn:

    bare          GET  /_bare
    queue         GET  /courier/queue                  (courier1's 10 shops, pending: a page of 50 rows)
    queue-1-shop  GET  /courier/queue?shop=S            (one shop's pending orders)
    search        GET  /courier/queue?status=&q=...     (an order number, all states)
    pickup-scan   POST /courier/pickups/P/scan          (random packed parcels: shipped, then "already")
    print-page    GET  /courier/print-jobs/J            (a 50-label job)
    api-queue     GET  /api/v1/queue?limit=50           (Bearer token; when the API has it)

Prints req/s, p50 and p99 per path, the queue's share of the bare route, and each worker's memory
(RSS and PSS). ``--explain`` also prints PostgreSQL's plan of every query those requests make and
flags sequential scans.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"  # noqa: S105  (bench/seed_world.py)
BIG_TABLES = ("order", "order_item", "order_event", "audit_event", "pickup_scan", "waybill", "print_job_item")


def application():
    """The portal with a bare Flask route in front: gunicorn serves both from the same workers."""
    from flask import Flask

    from wsgi import app as portal

    bare = Flask("bare")

    @bare.get("/_bare")
    def bare_route():
        return "ok"

    def dispatch(environ, start_response):
        target = bare if environ.get("PATH_INFO") == "/_bare" else portal
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
    from sqlalchemy import func, select

    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db
    from portal.models import Order, OrderStatus, PickupScan, Shop

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri)
    with app.app_context():
        from portal.services import accounts, scanning, shops

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--explain", action="store_true", help="print the plan of every hot-path query")
    parser.add_argument("--only", help="comma-separated path names")
    args = parser.parse_args()
    if not args.database:
        parser.error("set DATABASE_URL or pass --database")
    uri = args.database
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    wrk = ensure_wrk()
    from tests.ops.servers import Browser, Gunicorn, free_port, production_env

    world = fixtures(uri)
    port = free_port()
    env = production_env(uri, port, WEB_CONCURRENCY=str(args.workers), PORTAL_BENCH_SERVE="1")
    env["FLASK_RATELIMIT_ENABLED"] = "false"
    with tempfile.TemporaryDirectory() as tmp:
        server = Gunicorn(env, Path(tmp) / "gunicorn.log", app="bench.load:app")
        try:
            server.wait_ready()
            browser = Browser(port)
            browser.sign_in("courier1", PASSWORD)
            status, headers, _text = browser.post(
                "/courier/print-jobs",
                {"company": "ZTO", "size": "100x150", "scope": "selected", "order_ids": world["pending"]},
            )
            job_path = headers.get("Location", "").removesuffix("/summary")  # the job's labels, not its page
            browser.get(f"/courier/pickups/{world['pickup_id']}")  # the page's CSRF token
            cookie, csrf = browser.cookie, browser.csrf
            base = f"http://127.0.0.1:{port}"
            paths = {
                "bare": ("GET", "/_bare", None),
                "queue": ("GET", "/courier/queue", None),
                "queue-1-shop": ("GET", f"/courier/queue?shop={world['shop_ids'][0]}", None),
                "search": ("GET", f"/courier/queue?status=&q={world['search']}", None),
            }
            if world["packed"]:
                code = {"code": world["packed"][0]}
                paths["pickup-scan"] = ("POST", f"/courier/pickups/{world['pickup_id']}/scan", code)
            else:
                print("no parcel to scan in courier1's first shop: pickup-scan skipped")
            if status == 302 and "/print-jobs/" in job_path:
                paths["print-page"] = ("GET", job_path.replace(base, ""), None)
            else:
                print(f"print job not created ({status}): print-page skipped")
            if world["token"]:
                paths["api-queue"] = ("GET", "/api/v1/queue?limit=50", None)
            results = {}
            for name, (_method, path, _data) in paths.items():
                if args.only and name not in args.only.split(","):
                    continue
                if name == "pickup-scan":
                    script = lua_script(cookie, "POST", f"csrf_token={csrf}&code=", world["packed"])
                else:
                    script = lua_script(cookie if name != "api-queue" else "")
                extra = {"Authorization": f"Bearer {world['token']}"} if name == "api-queue" else None
                results[name] = run_wrk(wrk, base + path, script, args, extra)
                r = results[name]
                print(
                    f"{name:<13} {r['rps']:8.1f} req/s   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms"
                    f"   {r['requests']:6d} requests, {r['errors']} not 2xx/3xx",
                    flush=True,
                )
            if "bare" in results:
                for name in ("queue", "queue-1-shop"):
                    if name in results:
                        share = results[name]["rps"] / results["bare"]["rps"]
                        print(f"{name} at {share:.0%} of the bare route's req/s")
            workers = sorted(server.workers())
            print(f"gunicorn: {len(workers)} workers (sync), {args.connections} connections, {args.seconds} s per path")
            for pid in [server.process.pid, *workers]:
                rss, pss = memory(pid)
                role = "master" if pid == server.process.pid else "worker"
                print(f"  {role} {pid}: RSS {rss:6.1f} MB, PSS {pss:6.1f} MB")
        finally:
            server.stop()
    if args.explain:
        explain(uri, paths)


if __name__ == "__main__":
    main()
