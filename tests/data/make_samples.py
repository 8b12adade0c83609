"""Write the sample order exports in tests/data (run it again after changing a sample; commit the output).

    .venv/bin/python tests/data/make_samples.py

The Taobao samples follow the 2017 seller-centre export (shared/seed/facts.md, section 4): 46 columns, every
field double-quoted, GBK, order numbers as ``="…"``, mobiles as ``'13…``, ``=""`` for empty cells, trailing
spaces in six headings, ``省 市 区 详细地址(邮编)`` addresses. Names, phones and addresses are made up.
"""

import csv
import io
import random
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The 2017 order-list layout, headings exactly as exported (trailing spaces included).
TAOBAO_2017_COLUMNS = (
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额", "返点积分",
    "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址 ", "运送方式",
    "联系电话 ", "联系手机", "订单创建时间", "订单付款时间 ", "宝贝标题 ", "宝贝种类 ", "物流单号 ", "物流公司",
    "订单备注", "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头",
    "是否手机订单", "分阶段订单信息", "特权订金订单id", "是否上传合同照片", "是否上传小票", "是否代付", "定金排名",
    "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣", "集分宝抵扣", "是否是O2O交易", "退款金额",
    "预约门店",
)  # fmt: skip
# fmt: off
DETAIL_COLUMNS = ("订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态",
                  "商家编码")
# fmt: on

PENDING = "买家已付款，等待卖家发货"


def taobao_row(
    order_no: str,
    *,
    name: str,
    address: str,
    mobile: str = "",
    landline: str = "",
    status: str = PENDING,
    paid: str = "2024-06-18 20:15:00",
    title: str = "西湖龙井 明前特级 250g",
    quantity: int = 1,
    amount: str = "178.00",
    nick: str = "tb_buyer",
    message: str = "",
    memo: str = "",
    modified_address: str = "",
) -> list[str]:
    """One order as the seller centre writes it, quirks included."""
    empty = '=""'
    values = {
        "订单编号": f'="{order_no}"',
        "买家会员名": nick,
        "买家支付宝账号": "**",
        "买家应付货款": amount,
        "买家应付邮费": "0.00",
        "买家支付积分": "0",
        "总金额": amount,
        "返点积分": "0",
        "买家实际支付金额": amount,
        "买家实际支付积分": "0",
        "订单状态": status,
        "买家留言": message,
        "收货人姓名": name,
        "收货地址 ": address,
        "运送方式": "快递",
        "联系电话 ": f"'{landline}" if landline else empty,
        "联系手机": f"'{mobile}" if mobile else empty,
        "订单创建时间": paid,
        "订单付款时间 ": paid if status != "等待买家付款" else "",
        "宝贝标题 ": title,
        "宝贝种类 ": "1",
        "物流单号 ": empty,
        "物流公司": "",
        "订单备注": memo,
        "宝贝总数量": str(quantity),
        "店铺Id": "0",
        "店铺名称": "李记茶庄",
        "订单关闭原因": "订单未关闭" if status != "交易关闭" else "买家不想买了",
        "卖家服务费": "0",
        "买家服务费": "0",
        "发票抬头": "",
        "是否手机订单": "手机订单",
        "修改后的收货地址": modified_address,
        "退款金额": "0",
    }
    return [values.get(column, "") for column in TAOBAO_2017_COLUMNS]


def write_csv(path: Path, header, rows, *, encoding: str, quote_all: bool = True) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def taobao_gbk(out: Path) -> None:
    """Every Taobao quirk: 5 orders to ship, 4 at other statuses."""
    rows = [
        taobao_row(
            "2024061812345678901",
            name="张伟",
            nick="tb_lily88",
            address="浙江省 杭州市 西湖区 文三路90号东部软件园3号楼(310012)",
            mobile="13800138000",
            quantity=2,
            amount="356.00",
            message="请周一前发货",
        ),
        # No mobile: 联系电话 is used; the buyer changed the address after paying.
        taobao_row(
            "2024061812345678902",
            name="王芳",
            address="上海 上海市 黄浦区 旧地址1号(200001)",
            modified_address="上海 上海市 浦东新区 世纪大道100号(200120)",
            landline="021-58889999",
        ),
        # Not waiting to ship: counted, not imported, not checked (the masked phone is no error here).
        taobao_row(
            "2024061812345678903",
            name="李*",
            address="北京 北京市 朝阳区 **",
            mobile="138****0000",
            status="等待买家付款",
        ),
        taobao_row(
            "2024061812345678904",
            name="赵磊",
            address="江苏省 南京市 玄武区 中山路1号(210008)",
            mobile="13900139000",
            status="卖家已发货，等待买家确认",
        ),
        taobao_row(
            "2024061812345678905",
            name="孙丽",
            address="湖北省 武汉市 洪山区 珞喻路1037号(430074)",
            mobile="13700137000",
            status="交易成功",
        ),
        taobao_row(
            "2024061812345678906",
            name="周杰",
            address="山东省 青岛市 市南区 香港中路9号(266071)",
            mobile="13600136000",
            status="交易关闭",
        ),
        # Formula-looking text is stored as written; a message spanning two lines is still one row (row 8).
        taobao_row(
            "2024061812345678907",
            name='=HYPERLINK("http://x","y")',
            address="广东省 深圳市 南山区 科技园科发路8号(518057)",
            mobile="15012345678",
            message="早点发货\n谢谢",
            memo='=HYPERLINK("http://evil.example","点我")',
        ),
        # An address nobody can place: imported and flagged.
        taobao_row("2024061812345678908", name="吴用", address="火星 奥林帕斯山 北坡1号(000000)", mobile="18612345678"),
        # 其它区, full-width brackets in the detail, no amount (=""), three of one item.
        taobao_row(
            "2024061812345678909",
            name="郑爽",
            address="四川省 成都市 其它区 天府大道北段1700号（环球中心）(610041)",
            mobile="17712345678",
            amount='=""',
            quantity=3,
        ),
    ]
    write_csv(out / "taobao_2017_gbk.csv", TAOBAO_2017_COLUMNS, rows, encoding="gbk")


# fmt: off
SIMPLE_HEADER = ("订单编号", "买家会员名", "收货人姓名", "收货地址", "联系手机", "订单状态", "订单付款时间",
                 "宝贝标题", "宝贝总数量", "买家实际支付金额")
SIMPLE_ROWS = [
    ("2024070100000000001", "茶友小陈", "陈晨", "福建省 福州市 鼓楼区 五四路158号(350003)", "13512345678",
     PENDING, "2024-07-01 09:30:00", "武夷岩茶 大红袍 100g", "1", "98.00"),
    ("2024070100000000002", "阿May", "林美", "广东省 广州市 天河区 天河路385号(510620)", "13612345678",
     PENDING, "2024-07-01 10:05:12", "安溪铁观音 清香型 250g", "2", "136.00"),
    ("2024070100000000003", "老周", "周平", "河南省 郑州市 金水区 花园路1号(450003)", "13712345678",
     "交易成功", "2024-06-20 08:00:00", "普洱 熟茶 357g", "1", "260.00"),
]
# fmt: on


def utf8_files(out: Path) -> None:
    write_csv(out / "orders_utf8_bom.csv", SIMPLE_HEADER, SIMPLE_ROWS, encoding="utf-8-sig", quote_all=False)
    write_csv(out / "orders_utf8.csv", SIMPLE_HEADER, SIMPLE_ROWS, encoding="utf-8", quote_all=False)


def xlsx_file(out: Path) -> None:
    """Cells typed as Excel types them: numbers, a date, a ="…" formula with the value Excel keeps beside it,
    formula-looking text kept as text (XlsxWriter writes cached formula values, as Excel does)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(out / "orders.xlsx")
    workbook.set_properties({"created": datetime(2024, 7, 2)})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet = workbook.add_worksheet("订单")
    sheet.write_row(0, 0, [*SIMPLE_HEADER, "订单备注"])
    # fmt: off
    sheet.write_row(1, 0, ["2024070200000000001", "茶友小陈", "陈晨", "福建省 福州市 鼓楼区 五四路158号(350003)",
                           13512345678, PENDING])
    sheet.write_datetime(1, 6, datetime(2024, 7, 2, 9, 30), when)
    sheet.write_row(1, 7, ["武夷岩茶 大红袍 100g", 1, 98.5])
    sheet.write_string(1, 10, '=HYPERLINK("http://x","y")')  # a string that looks like a formula, as exported
    # Row 3 is blank and skipped; the next one is still row 4 in Excel. Excel makes the CSV's ="…" a formula
    # and keeps its value beside it.
    sheet.write_formula(3, 0, '="2024070200000000002"', None, "2024070200000000002")
    sheet.write_row(3, 1, ["阿May", "林美", "广东省 广州市 天河区 天河路385号(510620)", "13612345678", PENDING,
                           "2024-07-02 10:05:12", "安溪铁观音 清香型 250g", 2, 136, ""])
    sheet.write_row(4, 0, ["2024070200000000003", "老周", "周平", "河南省 郑州市 金水区 花园路1号(450003)",
                           13712345678, "交易关闭"])
    sheet.write_datetime(4, 6, datetime(2024, 6, 20, 8), when)
    sheet.write_row(4, 7, ["普洱 熟茶 357g", 1, 260, ""])
    # fmt: on
    workbook.close()


def pair_files(out: Path) -> None:
    """An orders file and its items file (one row per item), both GBK."""
    rows = [
        taobao_row(
            "2024080100000000001",
            name="钱多",
            address="浙江省 宁波市 鄞州区 天童南路1号(315100)",
            mobile="13312345678",
            title="龙井 + 白茶 组合",
            quantity=3,
            amount="300.00",
        ),
        taobao_row(
            "2024080100000000002",
            name="孔明",
            address="湖南省 长沙市 岳麓区 麓山南路2号(410082)",
            mobile="13412345678",
            title="祁门红茶 罐装",
            quantity=3,
            amount="37.50",
        ),
        taobao_row(
            "2024080100000000003",
            name="曹操",
            address="河北省 石家庄市 长安区 中山东路3号(050011)",
            mobile="13212345678",
            status="交易成功",
        ),
    ]
    write_csv(out / "pair_orders.csv", TAOBAO_2017_COLUMNS, rows, encoding="gbk")
    # fmt: off
    items = [
        ('="2024080100000000001"', "西湖龙井 明前特级 250g", "178.00", "1", "EXT-1", "净含量：250g", "", "",
         PENDING, "LJ-001"),
        ('="2024080100000000001"', "福鼎白茶 白牡丹 100g", "61.00", "2", "EXT-9", "颜色分类：散装", "", "送小样",
         PENDING, ""),
        ('="2024080100000000002"', "祁门红茶 罐装", "12.50", "3", "", "", "", "", PENDING, "QM-3"),
        # Not in the orders file: a note, not an error.
        ('="2024080199999999999"', "武夷岩茶 大红袍 100g", "98.00", "1", "", "", "", "", PENDING, "DHP-1"),
        # In the orders file but not waiting to ship: ignored.
        ('="2024080100000000003"', "普洱 熟茶 357g", "260.00", "1", "", "", "", "", "交易成功", "PE-1"),
    ]
    # fmt: on
    write_csv(out / "pair_items.csv", DETAIL_COLUMNS, items, encoding="gbk")
    bad = [items[0], ('="2024080100000000002"', "祁门红茶 罐装", "12.50", "两个", "", "", "", "", PENDING, "QM-3")]
    write_csv(out / "pair_items_bad.csv", DETAIL_COLUMNS, bad, encoding="gbk")


def layout_files(out: Path) -> None:
    """Shuffled and unknown columns; English headings; missing columns; a heading-less text file."""
    order = [6, 2, 9, 4, 0, 5, 3, 1, 8, 7]
    header = ["旺旺备注", *(SIMPLE_HEADER[i] for i in order), "发票抬头"]
    rows = [["x", *(row[i] for i in order), ""] for row in SIMPLE_ROWS]
    write_csv(out / "shuffled_unknown.csv", header, rows, encoding="utf-8-sig", quote_all=False)

    # fmt: off
    english = ("Order Number", "buyer_nick", "Recipient", "ADDRESS", "Mobile", "status", "Paid_Time", "Title",
               "quantity", "Amount", "Buyer Message", "seller_memo", "colour")
    rows = [
        ("E-1001", "amy", "Amy Li", "浙江省 杭州市 滨江区 网商路699号(310052)", "+86 135 1234 5678", "paid",
         "2024-07-03 12:00:00", "Longjing 250g", "2", "356", "", "gift wrap", "green"),
        ("E-1002", "bob", "Bob Wang", "江苏省 苏州市 姑苏区 人民路1号", "13612345678", "WAIT_SELLER_SEND_GOODS",
         "2024/07/03 12:30", "Oolong 100g", "1", "68.5", "call first", "", ""),
        ("E-1003", "cy", "Cy Zhao", "北京市 北京市 海淀区 中关村大街1号", "13712345678", "Pending",
         "2024-07-03T13:00:00", "Pu-erh", "", "", "", "", ""),
        ("E-1004", "dee", "Dee Sun", "天津市 天津市 和平区 南京路1号", "13812345678", "TRADE_FINISHED",
         "2024-07-01 13:00:00", "Pu-erh", "1", "20", "", "", ""),
    ]
    # fmt: on
    write_csv(out / "english.csv", english, rows, encoding="utf-8", quote_all=False)

    header = ("订单编号", "收货地址", "订单付款时间", "订单状态")
    write_csv(
        out / "missing_columns.csv", header, [(*SIMPLE_ROWS[0][:1], "浙江省", "2024-07-01", PENDING)], encoding="gbk"
    )
    (out / "no_header.csv").write_text("hello,world\r\n1,2\r\n", encoding="utf-8")


def problem_files(out: Path) -> None:
    """Rows with problems: a duplicate order number; a phone that is not one; a masked phone."""
    rows = [
        taobao_row("2024090100000000001", name="甲", address="浙江省 杭州市 西湖区 文三路1号", mobile="13800000001"),
        taobao_row("2024090100000000002", name="乙", address="浙江省 杭州市 西湖区 文三路2号", mobile="13800000002"),
        taobao_row("2024090100000000001", name="丙", address="浙江省 杭州市 西湖区 文三路3号", mobile="13800000003"),
    ]
    write_csv(out / "duplicates.csv", TAOBAO_2017_COLUMNS, rows, encoding="gbk")
    rows = [
        # Valid; its message spans two lines, so the file's line numbers run ahead of Excel's rows.
        taobao_row(
            "2024090200000000001",
            name="甲",
            address="浙江省 杭州市 西湖区 文三路1号",
            mobile="13800000001",
            message="第一行\n第二行",
        ),
        taobao_row("2024090200000000002", name="乙", address="浙江省 杭州市 西湖区 文三路2号", mobile="12345"),
        taobao_row("2024090200000000003", name="丙", address="浙江省 杭州市 西湖区 文三路3号", mobile="138****8000"),
        taobao_row("2024090200000000004", name="丁", address="浙江省 杭州市 西湖区 文三路4号", mobile="13800000004"),
    ]
    write_csv(out / "bad_rows.csv", TAOBAO_2017_COLUMNS, rows, encoding="gbk")
    # Saved back to CSV by Excel: the number lost its last digits and is written with an exponent.
    write_csv(out / "excel_mangled.csv", SIMPLE_HEADER, [("2.02407E+18", *SIMPLE_ROWS[0][1:])], encoding="gbk")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


def unreadable_files(out: Path) -> None:
    """Files that are no spreadsheet, or text in an encoding we do not read."""
    (out / "empty.csv").write_bytes(b"")
    (out / "image.csv").write_bytes(_png())
    (out / "program.csv").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x03\x00\x3e\x00")
    text = "订单编号,收货人姓名\r\n2024070100000000001,陈晨\r\n"
    (out / "utf16.csv").write_bytes(text.encode("utf-16"))
    noise = random.Random(20240618)
    (out / "random_bytes.csv").write_bytes(bytes(noise.randrange(0x80, 0x100) for _ in range(4096)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("readme.txt", (2024, 6, 18, 0, 0, 0)), "a zip file, not a workbook")
    (out / "zip_not_workbook.xlsx").write_bytes(buffer.getvalue())


def main(out: Path = HERE) -> None:
    taobao_gbk(out)
    utf8_files(out)
    xlsx_file(out)
    pair_files(out)
    layout_files(out)
    problem_files(out)
    unreadable_files(out)


if __name__ == "__main__":
    main()
