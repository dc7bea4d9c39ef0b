"""The text a product is found by: its names in Chinese, pinyin initials and full pinyin, its categories' English
names, lower-cased.

Pinyin cannot be computed in SQL, so it is stored on the product (``Product.search_text``) and the
catalog search is a case-insensitive ``contains`` on it, the same on SQLite and PostgreSQL.
"""

from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

SEPARATOR = "|"  # between the parts, so that a word of the query cannot match across two of them


def build(*, name: str, sku: str, seller: str, categories: Iterable[str], categories_en: Iterable[str] = ()) -> str:
    """``categories`` are the product's category and its parents' names, ``categories_en`` their English names
    (so that "fertilizer" finds what 化肥 does)."""
    words = [name, seller, *categories]
    parts = [sku, *words]
    for word in words:
        parts.append("".join(lazy_pinyin(word, style=Style.FIRST_LETTER)))  # 化肥 -> hf
        parts.append("".join(lazy_pinyin(word)))  # 化肥 -> huafei
    parts.extend(categories_en)
    cleaned = (part.replace(SEPARATOR, " ").strip().lower() for part in parts)
    return SEPARATOR.join(dict.fromkeys(part for part in cleaned if part))  # in order, each once (ASCII names)


def of_product(product) -> str:
    """The search text of a product, from its category chain and seller (loaded if not selected already)."""
    categories, categories_en = [], []
    category = product.category
    while category is not None and len(categories) < 5:  # a bound: a category loop in the admin must not hang a save
        categories.append(category.name)
        if name_en := getattr(category, "name_en", ""):  # not on the historical model of orders' migration 0004
            categories_en.append(name_en)
        category = category.parent
    return build(
        name=product.name,
        sku=product.sku,
        seller=product.seller.name,
        categories=categories,
        categories_en=categories_en,
    )
