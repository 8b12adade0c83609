"""Benchmark the label renderers on 1,000 labels with realistic Chinese data.

    .venv/bin/python bench/labels.py [--labels 1000] [--size 100x150] [--repeat 3]

Builds the LabelData (privacy labels with a reveal URL each, 1-6 items, half 顺丰-style SF+13 digits, half
14-digit ZTO numbers), then times (a) the symbols alone: each label's Code 128 (and the stub's on 100x180)
and QR code as SVG, (b) ``render_html`` inside an app context, (c) ``render_pdf``, (d) ``render_zpl``,
(e) ``render_tspl``. Each is run ``--repeat`` times after one warm-up and the best time is kept. Targets:
HTML under 0.5 s and within 5x of (a); PDF under 2 s.
"""

import argparse
import csv
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.models import Order, OrderItem, Shop  # noqa: E402
from portal.services import barcodes, labels, regions  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏宇浩凯婷雪琳晨欣怡子涵梓轩雨泽思远嘉懿"
ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "文化路", "胜利路", "朝阳路", "光明街", "滨江大道",
         "科技园路", "学院路", "长江路", "黄河路", "世纪大道", "东风路", "青年路")  # fmt: skip
COMMUNITIES = ("阳光花园", "金色家园", "翠苑小区", "万科城", "碧桂园", "绿城桂花园", "恒大名都", "保利花园", "")
ITEMS = ("西湖龙井 明前特级 250g", "安吉白茶 礼盒装", "紫砂壶 300ml", "祁门红茶 罐装 100g", "福鼎白茶 白牡丹 100g",
         "武夷岩茶 大红袍 100g", "普洱 熟茶 357g 饼", "茶具套装 青花瓷 六杯")  # fmt: skip
MESSAGES = ("", "", "", "请尽快发货", "周末送货 谢谢", "不要放快递柜", "送人的，请不要放价格单", "到了请打13912345678")
MEMOS = ("", "", "送试饮装", "老客户 加送茶夹", "改地址：见留言")
URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
COURIERS = (("SF", "顺丰速运"), ("YTO", "圆通速递"), ("ZTO", "中通快递"), ("JT", "极兔速递"))


def places() -> list[tuple[str, str, str]]:
    """(province, city, district) from the shipped region table."""
    by_code = {}
    with regions.REGION_TABLE.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_code[row["code"]] = row
    found = []
    for row in by_code.values():
        city = by_code.get(row["parent_code"] or "")
        if row["level"] != "district" or city is None:
            continue
        province = by_code[city["parent_code"]]
        found.append((province["name"], city["name"], row["name"]))
    return found


def build(count: int, size: str, seed: int = 41833) -> list[labels.LabelData]:
    rng = random.Random(seed)  # noqa: S311 (made-up data)
    where = places()
    shop = Shop(name="西湖茶庄", sender_name="西湖茶庄", sender_phone="13987654321",
                sender_address="浙江省杭州市上城区南山路100号", privacy_labels=True)  # fmt: skip
    printed_at = datetime(2026, 11, 26, 6, 5, tzinfo=UTC)
    rows = []
    for i in range(count):
        province, city, district = rng.choice(where)
        items = [(title, rng.choice((1, 1, 1, 2, 3))) for title in rng.sample(ITEMS, rng.choice((1, 1, 2, 3, 6)))]
        order = Order(
            platform_order_no=str(3_900_000_000_000_000_000 + rng.randrange(10**17)),
            recipient_name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
            recipient_phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            province=province,
            city=city,
            district=district,
            address_detail=f"{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.choice(COMMUNITIES)}"
            f"{rng.randint(1, 30)}幢{rng.randint(1, 6)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室",
            # As services/orders.py stores them: "title ×N" for N != 1, joined by "; ".
            item_summary="; ".join(f"{t} ×{q}" if q != 1 else t for t, q in items),
            item_count=sum(q for _, q in items),
            buyer_message=rng.choice(MESSAGES),
            seller_memo=rng.choice(MEMOS),
        )
        order.items = [OrderItem(title=t, quantity=q) for t, q in items]
        code, name = rng.choice(COURIERS)
        number = f"SF{1_000_000_000_000 + i:013d}" if i % 2 else f"{73_000_000_000_000 + i:014d}"
        token = "".join(rng.choices(URL_SAFE, k=43))  # as secrets.token_urlsafe(32)
        rows.append(
            labels.build_label_data(
                order,
                shop,
                tracking_no=number,
                courier_code=code,
                courier_name=name,
                size=size,
                printed_at=printed_at,
                reveal_url=f"https://portal.example/r/{token}",
            )
        )
    return rows


def best_of(repeat: int, job: Callable[[], object]) -> tuple[float, object]:
    job()  # warm-up: imports, font registration, template compilation
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = job()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--size", default=labels.DEFAULT_SIZE, choices=list(labels.LABEL_SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    rows = build(args.labels, args.size)
    print(f"built {len(rows)} LabelData ({args.size}) in {time.perf_counter() - start:.3f} s")

    t_codes, _ = best_of(args.repeat, lambda: symbols(rows))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        t_html, html = best_of(args.repeat, lambda: labels.render_html(rows))
    t_pdf, pdf = best_of(args.repeat, lambda: labels.render_pdf(rows))
    t_zpl, zpl = best_of(args.repeat, lambda: labels.render_zpl(rows))
    t_tspl, tspl = best_of(args.repeat, lambda: labels.render_tspl(rows))

    html_mb, pdf_mb, zpl_mb, tspl_mb = (len(x) / 1e6 for x in (html.encode(), pdf, zpl.encode(), tspl))
    print(f"(a) symbols alone   {t_codes:7.3f} s  (Code 128 + QR SVGs)")
    print(f"(b) render_html     {t_html:7.3f} s  {html_mb:5.1f} MB  html/symbols = {t_html / t_codes:.1f}x")
    print(f"(c) render_pdf      {t_pdf:7.3f} s  {pdf_mb:5.1f} MB  pdf/symbols = {t_pdf / t_codes:.1f}x")
    print(f"(d) render_zpl      {t_zpl:7.3f} s  {zpl_mb:5.1f} MB  zpl/symbols = {t_zpl / t_codes:.1f}x")
    print(f"(e) render_tspl     {t_tspl:7.3f} s  {tspl_mb:5.1f} MB  tspl/symbols = {t_tspl / t_codes:.1f}x")
    ok_html = t_html < 0.5 and t_html <= 5 * t_codes
    print(
        f"targets: html < 0.5 s and <= 5x symbols: {'ok' if ok_html else 'MISSED'}; "
        f"pdf < 2 s: {'ok' if t_pdf < 2 else 'MISSED'}"
    )


def symbols(rows: list[labels.LabelData]) -> list[str]:
    """Every symbol the HTML draws, as it draws them: the main Code 128, the stub's, the QR code."""
    out = []
    for row in rows:
        layout = row.layout
        out.append(barcodes.code128_svg(row.tracking_no, dots_per_module=row.barcode_dots, height_mm=layout.barcode_mm))
        if layout.stub_mm:
            out.append(
                barcodes.code128_svg(
                    row.tracking_no, dots_per_module=labels.STUB_BARCODE_DOTS, height_mm=layout.stub_barcode_mm
                )
            )
        if row.reveal_url:
            out.append(
                barcodes.qr_svg(row.reveal_url, dots_per_module=labels.data.qr_module_dots(row.reveal_url, layout))
            )
    return out


if __name__ == "__main__":
    main()
