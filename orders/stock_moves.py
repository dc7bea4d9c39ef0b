"""The stock of orders: what placing, cancelling, shipping and returning an order does to the Stock rows.

The catalog cannot read order lines (it sits below orders), so the order side of
the stock ledger is here, on top of catalog.stock's locking and movement kinds.
"""

from django.db import connection, transaction
from django.db.models import Sum

from catalog.models import Stock, StockMovement
from catalog.stock import NOTE_LENGTH, shift_stock

from .models import OrderLine

Kind = StockMovement.Kind

# What each order kind does to a line's quantity: (on hand, reserved) per unit.
ORDER_DELTAS: dict[str, tuple[int, int]] = {
    Kind.RESERVED: (0, +1),  # place_order
    Kind.RELEASED: (0, -1),  # cancel_order of a placed or confirmed order
    Kind.SHIPPED: (-1, -1),  # depart / depart_orders
}
# What the warehouse counts in of goods that came back (returns.receive_goods_back): per unit.
BACK_DELTAS: dict[str, tuple[int, int]] = {
    Kind.RETURNED: (+1, 0),  # sellable: back on the shelf (on hand)
    Kind.QUARANTINED: (0, +1),  # damaged: into quarantine (never sold)
}


def record_order_movements(*, order_ids: list[int], kind: str, actor=None, note: str = "") -> list[StockMovement]:
    """Write the movements of what ``kind`` did to the stock of these orders: one per order line, one INSERT.

    Records only: call it in the transaction that moved the Stock rows (after
    ``reserve_free`` in placement, or after ``_move_stock``/``_move_stock_of_orders``).
    """
    if kind not in ORDER_DELTAS:
        raise ValueError(f"{kind!s} is not an order movement kind")
    on_hand, reserved = ORDER_DELTAS[kind]
    lines = OrderLine.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "order__warehouse_id", "product_id", "quantity"
    )
    return StockMovement.objects.bulk_create(
        StockMovement(
            product_id=product_id,
            warehouse_id=warehouse_id,
            order_id=order_id,
            kind=kind,
            on_hand_delta=on_hand * quantity,
            reserved_delta=reserved * quantity,
            actor=actor,
            note=note[:NOTE_LENGTH],
        )
        for order_id, warehouse_id, product_id, quantity in lines.order_by("order_id", "product_id")
    )


def move_stock_for_orders(*, order_ids: list[int], kind: str, actor=None, note: str = "") -> list[StockMovement]:
    """Move the stock of these orders for ``kind`` and record it: a drop-in for ``_move_stock(_of_orders)``.

    One UPDATE per Stock row touched, rows locked in primary-key order; the
    CHECK constraint (reserved <= on_hand, neither negative) refuses anything
    impossible.  Inside the caller's transaction (the one of the transition).
    """
    if kind not in ORDER_DELTAS:
        raise ValueError(f"{kind!s} is not an order movement kind")
    on_hand, reserved = ORDER_DELTAS[kind]
    totals = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .values("order__warehouse_id", "product_id")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    )
    by_pair = {(t["product_id"], t["order__warehouse_id"]): t["quantity"] for t in totals}
    with transaction.atomic():
        shift_stock(quantities=by_pair, on_hand=on_hand, reserved=reserved)
        return record_order_movements(order_ids=order_ids, kind=kind, actor=actor, note=note)


def reserve_free(*, stock_id: int, quantity: int) -> bool:
    """Reserve ``quantity`` units if that many are free; False (nothing changed) otherwise.

    Plain SQL because it runs for every line of every order: the ORM spends
    more CPU building this UPDATE than the database spends running it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Stock._meta.db_table} SET reserved = reserved + %s "  # noqa: S608 - a table name, no input
            "WHERE id = %s AND on_hand >= reserved + %s",
            [quantity, stock_id, quantity],
        )
        return cursor.rowcount == 1


def receive_goods_back(
    *, counted: list[tuple[int, int, int, int, int]], actor=None, note: str = ""
) -> list[StockMovement]:
    """Goods back at the warehouse: ``counted`` is (order_id, warehouse_id, product_id, sellable, damaged) per line.

    Sellable units go back on hand (RETURNED), damaged ones into quarantine (QUARANTINED), each line recorded.
    Inside the caller's transaction.
    """
    movements = []
    for kind, column in ((Kind.RETURNED, 3), (Kind.QUARANTINED, 4)):
        on_hand, quarantined = BACK_DELTAS[kind]
        rows = [(c[0], c[1], c[2], c[column]) for c in counted if c[column]]
        if not rows:
            continue
        by_pair: dict[tuple[int, int], int] = {}
        for _order, warehouse_id, product_id, quantity in rows:
            by_pair[product_id, warehouse_id] = by_pair.get((product_id, warehouse_id), 0) + quantity
        shift_stock(quantities=by_pair, on_hand=on_hand, reserved=0, quarantined=quarantined)
        movements += StockMovement.objects.bulk_create(
            StockMovement(
                product_id=product_id,
                warehouse_id=warehouse_id,
                order_id=order_id,
                kind=kind,
                on_hand_delta=on_hand * quantity,
                quarantined_delta=quarantined * quantity,
                actor=actor,
                note=note[:NOTE_LENGTH],
            )
            for order_id, warehouse_id, product_id, quantity in rows
        )
    return movements
