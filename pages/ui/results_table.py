"""The reconcile page's results: filters, pages and the table, kept in the address so that a
reload or a shared link shows the same view."""

from datetime import date

import polars as pl
import streamlit as st

from pages.ui.address import listed, publish, seed
from pages.ui.display import as_read, count, decisions_made, table
from rekon.classes import EXCEPTIONS, RESULTS, class_name
from rekon.providers.base import PROVIDER_TITLES, provider_title
from rekon.results import ResultFilter, results_page, results_total
from rekon.workspace import Workspace

PAGE_SIZE = 100
REVIEW_STATES = ("open", "accepted", "resolved")
# What a reviewer decides on comes first, so that it fits beside the sidebar at 1024 px: the
# class and the amounts on both sides; then the review and which item (an order, or a ledger
# line by its reference); the rest after.
COLUMNS = {
    "result": st.column_config.TextColumn("Result", width=130),
    "order_amount": st.column_config.TextColumn("Order amount", width=105),
    "ledger_amount": st.column_config.TextColumn("Ledger amount", width=105),
    "difference": st.column_config.TextColumn("Difference", width=95),
    "review_status": st.column_config.TextColumn("Review", width=80),  # fits "accepted"
    "item": "Order or ledger line",
    "order_date": "Order date",
    "ledger_date": "Ledger date",
    "merchant_ref": "Merchant ref",
    "ledger_reference": "Ledger reference",
    "rule": "Matched on",
    "review_note": "Note",
    "result_key": "Key",
}


def results_table(
    ws: Workspace, run_id: int, within: tuple[date, date] | None
) -> tuple[pl.DataFrame, list[str]]:
    """Draw the filters and one page of results; return that page and the selected keys."""
    st.subheader("Results")
    # Kept in the address, so a reload or a shared link shows the same view.
    seed("f_classes", "classes", listed(RESULTS))
    seed("f_providers", "providers", listed(tuple(PROVIDER_TITLES)))
    seed("f_review", "review", listed(REVIEW_STATES))
    seed("f_search", "q", str)
    seed("f_page", "page", int)
    st.session_state.setdefault("f_classes", list(EXCEPTIONS))
    # The classes get the whole width: in a narrow column their chips were cut unreadable.
    classes = st.multiselect("Result", RESULTS, format_func=class_name, key="f_classes")
    f2, f3, f4 = st.columns([2, 2, 3])
    providers = f2.multiselect(
        "Provider", list(PROVIDER_TITLES), format_func=provider_title, key="f_providers"
    )
    review = f3.multiselect("Review", REVIEW_STATES, key="f_review")
    search = f4.text_input("Search id, reference, description, customer or amount", key="f_search")
    flt = ResultFilter(tuple(classes), tuple(providers), tuple(review), search, within)
    # Another filter starts at its first page; a page past the end (a stale link) at the last.
    if st.session_state.get("f_filter", (run_id, flt)) != (run_id, flt):
        st.session_state["f_page"] = 1
    st.session_state["f_filter"] = (run_id, flt)
    total = results_total(ws.store, run_id, flt)  # the count decides the pages
    page_count = max(1, -(-total // PAGE_SIZE))
    st.session_state["f_page"] = min(max(1, int(st.session_state.get("f_page", 1))), page_count)
    page_no = st.number_input(
        f"Page (of {page_count}; {count(total)} results)", 1, page_count, key="f_page"
    )
    page, _ = results_page(ws.store, run_id, flt, (page_no - 1) * PAGE_SIZE, PAGE_SIZE, total)
    publish(
        run=str(run_id),
        classes=",".join(classes) if classes != list(EXCEPTIONS) else None,
        providers=",".join(providers),
        review=",".join(review),
        q=search,
        page=str(page_no) if page_no > 1 else None,
    )
    if page.is_empty():
        st.info("No result matches these filters.", icon=":material/filter_alt_off:")
        st.stop()
    item = (
        pl.when(pl.col("order_id").is_not_null())
        .then(pl.format("{} {}", "provider", "order_id"))
        .otherwise(
            pl.format(
                "Ledger {} line {} · {}",
                "ledger_id",
                "ledger_line",
                pl.col("ledger_reference").fill_null("(no reference)"),
            )
        )
    )
    grid = table(
        as_read(page).with_columns(item.alias("item")).select(list(COLUMNS)),
        "order_amount",
        "ledger_amount",
        "difference",
        column_config=COLUMNS,
        height=min(420, 38 + 35 * page.height),
        # A key per view: a selection belongs to the rows it was made on, not to the next page.
        key=f"results_{run_id}_{page_no}_{abs(hash(flt))}_{decisions_made()}",
        on_select="rerun",
        selection_mode="multi-row",
    )
    st.caption("Select rows to look at them and to decide on several at once.")
    return page, [page["result_key"][i] for i in grid.selection.rows]
