"""Category names per language: one category, a name in each reader's language.

`category_names` holds a category's name in one language (en, fr, es, and any later), with
its lookup key: the name folded (single spaces, case and accents ignored), indexed, so
`/subscribe trabajo decente` finds the category in one query. A category may carry the same
name in two languages ("Agriculture" in English and French), so the key is not unique here;
the service refuses a name another category already has, in any language.

`categories.names` is a read copy of the same names as a JSON object ({"fr": "…"}), written
in the same transaction: listings, pushes, digests and searches read it with the category's
name, without a join or a second query per category.

`categories.name_key` now folds accents too ("Économie" and "Economie" are one category).
The keys stored so far are refolded here; where two categories would fold alike, the first
(its key already accent-free, else the oldest) takes the folded key and the other keeps its
own, which has accents, so no two keys collide.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_MAX = 128


def _casefolded(name: str) -> str:
    """The key as revisions up to 0011 wrote it."""
    return " ".join(name.split()).casefold()


def _folded(name: str) -> str:
    """The key from this revision on (as `bot.services.news.category_key`, frozen here)."""
    decomposed = unicodedata.normalize("NFKD", _casefolded(name))
    return "".join(c for c in decomposed if not unicodedata.combining(c))[:KEY_MAX]


def upgrade() -> None:
    op.create_table(
        "category_names",
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(KEY_MAX), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_category_names_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("category_id", "language", name=op.f("pk_category_names")),
    )
    op.create_index(op.f("ix_category_names_name_key"), "category_names", ["name_key"])
    op.add_column("categories", sa.Column("names", sa.JSON(), nullable=False, server_default="{}"))
    categories = sa.table(
        "categories", sa.column("id", sa.Integer()), sa.column("name", sa.String())
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(categories.c.id, categories.c.name).order_by("id")).all()
    # accent-free keys first: they are unique already, and stay what they were
    rows.sort(key=lambda row: _casefolded(row.name) != _folded(row.name))
    taken: set[str] = set()
    for row in rows:
        key = _folded(row.name)
        if key in taken:
            key = _casefolded(row.name)
        taken.add(key)
        bind.execute(
            sa.text("UPDATE categories SET name_key = :key WHERE id = :id"),
            {"key": key, "id": row.id},
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM categories")).all()
    for row in rows:  # folded keys are unique, so their casefolded forms are too
        bind.execute(
            sa.text("UPDATE categories SET name_key = :key WHERE id = :id"),
            {"key": _casefolded(row.name), "id": row.id},
        )
    op.drop_column("categories", "names")
    op.drop_index(op.f("ix_category_names_name_key"), table_name="category_names")
    op.drop_table("category_names")
