"""The filter bar and table header every list page shares: labelled fields, problems beside them."""

from typing import Any

from jatigi.core.i18n import set_language
from jatigi.web.templating import environment


def _render(call: str, lang: str = "en", **context: Any) -> str:
    set_language(lang)
    template = environment(lang).from_string(
        '{% from "_list_filters.html" import filter_bar, select, search, check, table_head %}' + call)
    return " ".join(template.render(**context).split())


def test_a_choice_offers_all_first_translates_its_codes_and_keeps_the_one_chosen() -> None:
    html = _render('{{ select("state", "State", {"open": "Open", "closed": "Closed"}, "closed", {}) }}', "fr")
    assert '<label for="f-state">State</label>' in html
    assert '<select id="f-state" name="state">' in html
    assert html.index('<option value="">Toutes</option>') < html.index('value="open"')
    assert '<option value="closed" selected>Clôturé</option>' in html
    assert 'aria-invalid' not in html


def test_a_choice_with_a_problem_says_so_beside_it() -> None:
    html = _render('{{ select("area", "Area", [("ML01", "Kayes (ML01)")], "", errors) }}',
                   errors={"area": ["Unknown area.", "Choose one."]})
    assert 'aria-invalid="true" aria-describedby="f-area-error"' in html
    assert '<p class="field-error" id="f-area-error">Unknown area. Choose one.</p>' in html
    assert '<option value="ML01">Kayes (ML01)</option>' in html


def test_a_search_names_its_hint_and_its_problem() -> None:
    html = _render('{{ search("q", "Code", "CAS-1", errors, hint="Codes only.", maxlength=20) }}',
                   errors={"q": ["Not a code."]})
    assert 'maxlength="20"' in html and 'value="CAS-1"' in html
    assert 'aria-describedby="f-q-hint f-q-error"' in html and 'aria-invalid="true"' in html
    assert '<p class="muted small" id="f-q-hint">Codes only.</p>' in html
    plain = _render('{{ search("q", "Code", "", {}) }}')
    assert "aria-describedby" not in plain and "maxlength" not in plain


def test_the_bar_shows_the_problems_then_the_fields_and_the_button() -> None:
    call = ('{% call filter_bar("/complaints", problems) %}{{ check("overdue", "Overdue only", true) }}'
            '{% endcall %}')
    html = _render(call, problems=[("f-q", "Search", "Too long.")])
    assert html.index('role="alert"') < html.index('<form method="get" action="/complaints" class="filters">')
    assert '<h2 id="filters-title">Filters</h2>' in html
    assert '<input type="checkbox" id="f-overdue" name="overdue" value="1" checked>' in html
    assert '<button type="submit">Filter</button>' in html
    untitled = _render('{% call filter_bar("/x", [], titled=false) %}{% endcall %}')
    assert '<form method="get" action="/x" class="filters card">' in untitled and "filters-title" not in untitled


def test_the_table_header_leaves_out_missing_columns_and_hides_visual_only_ones() -> None:
    html = _render('{{ table_head(["Case", none, "Actions"], hidden=["Actions"]) }}')
    assert html.count('<th scope="col">') == 2
    assert '<th scope="col"><span class="visually-hidden">Actions</span></th>' in html
