"""The case list's pages, read one after the other from the last case of each, hold every
case exactly once and in the same order as one query over the whole list, whatever the
sort, the direction and the ties (many cases share a status, a title or an office)."""

from __future__ import annotations

import pytest

from storage.cases import add_case
from storage.queries import CASE_SORTS, CaseFilter, case_sort_key, list_cases
from storage.workspace import Workspace

TITLES = ("Shelling", "shelling", "Detentions", "Ärztehaus attack", "", "Zeta")
STATUSES = ("open", "closed", "under review")


@pytest.fixture
def many(ws: Workspace) -> Workspace:
    for number in range(60):
        add_case(
            ws,
            TITLES[number % len(TITLES)] or "Untitled",
            status=STATUSES[number % 3],
            lead_office=("Kabora", "Mirani", "")[(number % 3 == 0 and 2) or number % 2],
            opened_on=("2027-03", "", "2026")[number % 3],
        )
    return ws


def _paged(ws: Workspace, sort: str, descending: bool, size: int, wanted: CaseFilter) -> list:
    pages, after = [], None
    while True:
        page = list_cases(
            ws.conn, sort=sort, descending=descending, after=after, limit=size, where=wanted
        )
        if not page:
            return pages
        pages.extend(case.id for case in page)
        after = case_sort_key(page[-1], sort)


@pytest.mark.parametrize("sort", sorted(CASE_SORTS))
@pytest.mark.parametrize("descending", [False, True])
def test_pages_after_the_last_case_equal_one_query(many: Workspace, sort: str, descending: bool):
    for size in (1, 7, 200):
        for wanted in (CaseFilter(), CaseFilter(status="closed")):
            whole = [
                case.id
                for case in list_cases(
                    many.conn, sort=sort, descending=descending, limit=1000, where=wanted
                )
            ]
            assert _paged(many, sort, descending, size, wanted) == whole
            assert len(set(whole)) == len(whole) > 0
