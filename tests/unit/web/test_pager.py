"""The pager every list page shares: previous and next links when there are, nothing on one page."""

from jatigi.core.i18n import set_language
from jatigi.web.templating import environment


def _render(page: int, pages: int, previous: str | None, following: str | None) -> str:
    template = environment("en").from_string('{% from "_pager.html" import pager %}'
                                             '{{ pager(page, pages, previous, following) }}')
    return template.render(page=page, pages=pages, previous=previous, following=following)


def test_the_pager_links_the_pages_around_and_says_where_one_is() -> None:
    set_language("en")
    html = _render(2, 3, "/complaints?page=1", "/complaints?page=3")
    assert '<a href="/complaints?page=1" rel="prev">Previous page</a>' in html
    assert '<a href="/complaints?page=3" rel="next">Next page</a>' in html
    assert "Page 2 of 3" in html and 'aria-label="Pages of results"' in html
    assert 'rel="prev"' not in _render(1, 2, None, "/x?page=2")
    assert _render(1, 1, None, None).strip() == ""
