"""Walking one order through departure and arrival with the services a batch uses (no batch needed).

``orders.services.depart_orders`` and ``arrive_orders`` are what
``logistics.services.depart_batch`` and ``receive_stop`` call for a run's
orders; these call them for one order and keep its ``status`` in step, as a
transition does.
"""

from orders import services
from orders.models import Order


def depart(*, order: Order, actor=None) -> Order:
    """The order's run left the warehouse: in transit, its units out of the stock."""
    services.depart_orders([order.pk], actor=actor)
    order.status = Order.Status.IN_TRANSIT
    return order


def arrive(*, order: Order, actor=None, notify: bool = True) -> Order:
    """The order's parcel was checked in at the station: at the station, the villager told by SMS (``notify``)."""
    services.arrive_orders([order.pk], actor=actor, notify=notify)
    order.status = Order.Status.AT_STATION
    return order
