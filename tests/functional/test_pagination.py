"""The pagination under every paginated table, in both languages (its texts are kept per language)."""

from types import SimpleNamespace

from flask import render_template_string

PAGINATION = '{% from "macros/tables.html" import pagination %}{{ pagination(page, "courier.queue", status="packed") }}'


def render(app, language: str, page) -> str:
    with app.test_request_context("/courier/queue", headers={"Accept-Language": language}):
        return render_template_string(PAGINATION, page=page)


def test_pagination_in_english_and_chinese(app):
    middle = SimpleNamespace(pages=3, page=2, has_prev=True, prev_num=1, has_next=True, next_num=3)
    english = render(app, "en", middle)
    chinese = render(app, "zh-CN,zh;q=0.9", middle)
    again = render(app, "en", middle)
    assert english == again
    assert 'aria-label="Pages"' in english and "Page 2 of 3" in english
    assert ">Previous<" in english and ">Next<" in english
    assert 'aria-label="分页"' in chinese and "第 2 页，共 3 页" in chinese
    assert ">上一页<" in chinese and ">下一页<" in chinese and "Page" not in chinese
    for html in (english, chinese):
        assert 'href="/courier/queue?page=1&amp;status=packed"' in html
        assert 'href="/courier/queue?page=3&amp;status=packed"' in html
    start = SimpleNamespace(pages=2, page=1, has_prev=False, prev_num=None, has_next=True, next_num=2)
    first = render(app, "en", start)
    assert 'class="page-item disabled"><a class="page-link" href="#">Previous<' in first
    assert render(app, "en", SimpleNamespace(pages=1, page=1)).strip() == ""
