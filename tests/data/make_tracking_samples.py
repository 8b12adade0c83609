"""Write the courier-reply samples in tests/data (run it again after changing one; commit the output).

    .venv/bin/python tests/data/make_tracking_samples.py

A reply gives order numbers of the demo world (seller1's shop, see ``demo_order_no``) their ZTO tracking
numbers (``75…``: ZTO's shape, outside the demo ZTO range ``731…``). tests/unit/test_tracking_import.py
explains each row of ``tracking_errors.csv``.
"""

import csv
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent


def demo_order_no(n: int, owner: str = "seller1") -> str:
    """The platform order number of the n-th demo order of a shop (as portal.services.demo makes it)."""
    return f"{2026112600000000000 + n * 7919 + len(owner) * 13:019d}"[:19] + owner[-1]


def zto(n: int) -> str:
    return f"750000000{n:05d}"


def write_csv(path: Path, header, rows, *, encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def utf8_reply(out: Path) -> None:
    """Our own export sent back with a 运单号 column added: order numbers keep the export's leading '."""
    rows = [("'" + demo_order_no(n), "张伟", "浙江省", zto(n + 1)) for n in range(5)]
    write_csv(out / "tracking_zto_utf8.csv", ("订单编号", "收件人", "省", "运单号"), rows, encoding="utf-8-sig")


def gbk_reply(out: Path) -> None:
    """GBK, the seller centre's heading 物流单号 first, an unknown column, ="…" order numbers, a blank row."""
    rows = [(zto(n + 1), "已揽收，请尽快打包", f'="{demo_order_no(n)}"') for n in range(5, 10)]
    rows.insert(2, ("", "", ""))
    write_csv(out / "tracking_zto_gbk.csv", ("物流单号", "备注", "订单编号 "), rows, encoding="gbk")


def xlsx_reply(out: Path) -> None:
    """English headings; tracking numbers as Excel number cells (14 digits fit), order numbers as text."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回单")
    sheet.append(["Tracking Number", "Order Number", "Courier"])
    for n in range(10, 15):
        sheet.append([int(zto(n + 1)), demo_order_no(n), "中通快递"])
    workbook.save(out / "tracking_zto.xlsx")


# Row by row (the header is row 1): what test_tracking_import.py expects of each.
ERROR_ROWS = (
    (demo_order_no(20), zto(101)),  # 2 valid
    ("9999999999999999999", zto(102)),  # 3 not in this shop
    (demo_order_no(21), zto(103)),  # 4 labelled already (by the test)
    (demo_order_no(22), zto(104)),  # 5 shipped already (by the test, with zto(902))
    (demo_order_no(23), zto(105)),  # 6 cancelled (by the test)
    (demo_order_no(20), zto(106)),  # 7 the order of row 2 again
    (demo_order_no(24), zto(101)),  # 8 the number of row 2 again
    (demo_order_no(25), zto(500)),  # 9 on another shop's ZTO order (by the test)
    (demo_order_no(26), ""),  # 10 no tracking number
    ("", zto(107)),  # 11 no order number
    (demo_order_no(27), "ABC123"),  # 12 not a ZTO number
    (demo_order_no(28), "73100000000010"),  # 13 inside seller1's ZTO range (not handed out yet)
    (demo_order_no(29), "7.5E+13"),  # 14 Excel made it a number
    (demo_order_no(30), zto(902)),  # 15 on order 22 of this shop
    (demo_order_no(31), "73100000000001"),  # 16 handed out from the range and voided (by the test)
)


def error_reply(out: Path) -> None:
    write_csv(out / "tracking_errors.csv", ("订单编号", "运单号"), ERROR_ROWS, encoding="utf-8-sig")
    write_csv(
        out / "tracking_no_number_column.csv",
        ("订单编号", "收件人"),
        [(demo_order_no(0), "张伟")],
        encoding="utf-8-sig",
    )


def main(out: Path = HERE) -> None:
    utf8_reply(out)
    gbk_reply(out)
    xlsx_reply(out)
    error_reply(out)


if __name__ == "__main__":
    main()
