"""One predicate walker: every translator handles, leaf by leaf, every predicate kind its
method claims, and a kind it does not handle is reported as unsupported, never skipped."""

from __future__ import annotations

import pytest

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.predicates import OPS, Eq, Range
from fanns_bench.filters.visitor import PredicateVisitor, UnsupportedPredicate, unsupported_reason
from fanns_bench.methods.base import ANY_FILTER
from fanns_bench.methods.common.labels import LabelToken
from fanns_bench.methods.lancedb.sql import LanceWhere
from fanns_bench.methods.qdrant.filters import QdrantFilter

TRANSLATORS: dict[type[PredicateVisitor], frozenset[str]] = {
    AttributeIndex: ANY_FILTER,  # the harness evaluates everything
    LanceWhere: OPS,  # lancedb: any filter (unfiltered queries are not translated)
    QdrantFilter: OPS,
    LabelToken: frozenset({"eq", "contains", "none"}),  # diskann_filtered's capabilities
}


def handled(visitor: type[PredicateVisitor]) -> set[str]:
    """The predicate kinds a translator implements itself."""
    kinds = {
        op for op in OPS if getattr(visitor, f"visit_{op}") is not getattr(PredicateVisitor, f"visit_{op}")
    }
    if visitor.visit_none is not PredicateVisitor.visit_none:
        kinds.add("none")
    return kinds


@pytest.mark.parametrize("visitor", list(TRANSLATORS), ids=lambda v: v.__name__)
def test_translators_implement_every_kind_their_method_claims(visitor):
    assert TRANSLATORS[visitor] <= handled(visitor)


def test_pgvector_translator_implements_every_kind():
    pytest.importorskip("psycopg")
    from fanns_bench.methods.pgvector.predicate_sql import PostgresWhere

    assert handled(PostgresWhere) >= OPS


def test_an_unhandled_kind_is_unsupported_with_a_reason():
    class OnlyEquality(PredicateVisitor[str]):
        target = "a toy filter"

        def visit_eq(self, predicate: Eq) -> str:
            return f"{predicate.attr}={predicate.value}"

    assert OnlyEquality().visit(Eq("a", 1)) == "a=1"
    assert unsupported_reason(OnlyEquality(), Eq("a", 1)) is None
    assert unsupported_reason(OnlyEquality(), Range("a", 1, 2)) == "a toy filter cannot express 'range'"
    with pytest.raises(UnsupportedPredicate, match="cannot express no filter"):
        OnlyEquality().visit(None)
