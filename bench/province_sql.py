"""The set-based SQL that fills a migrated database with a province (bench/province.py runs it).

Every statement is an ``INSERT ... SELECT generate_series`` (or a temporary
table built the same way); ids of the network, villagers, products and orders
are explicit so that rows can point at each other by arithmetic, and the
identity sequences are moved past them at the end.  Nothing here goes through
the ORM: a row per ORM call would take hours at this size.

Shape (``n`` = scale):

- 100 counties, each with a warehouse, 30 villages with a station each (3,000),
  6 routes of 5 stops per county, 8 vehicles per route (15 t / 60 m³ each);
- one partner user per station (username ``p<station>``; station 1's is ``partner``);
- 60 sellers, 6 + 30 categories, 3,000 products, stock of every product in every warehouse;
- 300,000·n villagers (at least one per station), 100 per station at n = 1;
- 1,000,000·n orders over the last 365 days with 1–3 lines each, in the state a
  real history leaves them: today's are draft, placed, confirmed or cancelled;
  yesterday's are on today's runs (batched or in transit); older ones reached
  the station and were collected (a week's worth still waiting), returned or
  cancelled.  Every status change has its event, every batched-or-later order
  its parcel in a delivery batch (one per route and day, stops in route order),
  every collected order its commission accrual and every returned one the
  reversal.  Stock ``reserved`` is exactly what open orders hold.
"""

TZ = "Asia/Shanghai"
COUNTIES = 100
STATIONS_PER_COUNTY = 30
ROUTES_PER_COUNTY = 6
STOPS_PER_ROUTE = STATIONS_PER_COUNTY // ROUTES_PER_COUNTY
VEHICLES_PER_ROUTE = 8  # 120 t / 480 m³ a day: the busiest route of a 1M-order day needs 77 t / 378 m³
STATIONS = COUNTIES * STATIONS_PER_COUNTY
ROUTES = COUNTIES * ROUTES_PER_COUNTY
VEHICLES = ROUTES * VEHICLES_PER_ROUTE
PRODUCTS = 3000
SELLERS = 60
HISTORY_DAYS = 365
CUTOFF = "16:00"
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # as orders.placement.ORDER_NUMBER_ALPHABET

# What each product kind is: name, price, kg, m³, needs installation, parent category.
KINDS = [
    ("复合肥 50kg", 160, 50, 0.04, False, 1),
    ("尿素 40kg", 120, 40, 0.035, False, 1),
    ("玉米种子 5kg", 90, 5, 0.008, False, 1),
    ("水稻种子 2kg", 60, 2, 0.004, False, 1),
    ("农药喷雾器", 85, 4, 0.03, False, 1),
    ("电视机 43寸", 1299, 12, 0.12, True, 2),
    ("洗衣机 8kg", 1499, 35, 0.3, True, 2),
    ("电饭煲", 199, 4, 0.03, False, 2),
    ("电动自行车", 2399, 55, 0.5, True, 3),
    ("自行车", 399, 15, 0.25, False, 3),
    ("洗衣粉 5kg", 35, 5, 0.012, False, 4),
    ("食用油 5L", 79, 4.6, 0.006, False, 5),
    ("大米 10kg", 55, 10, 0.013, False, 5),
    ("卫生纸 12卷", 25, 1.5, 0.02, False, 4),
    ("水泥 50kg", 30, 50, 0.035, False, 6),
]
PARENTS = ["农资", "家电", "出行", "日用品", "粮油食品", "建材"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "建华", "建国", "国强", "志强", "文华",
    "德明", "永红", "海燕", "丽华", "春梅", "金凤", "红梅", "玉梅", "淑珍", "国华",
    "明", "伟", "芳", "勇", "军", "杰", "磊", "强", "静", "敏",
    "德福", "长生", "福生", "来福", "根生", "水生", "金生", "桂花", "兰英", "翠花",
]  # fmt: skip

# The events each final state leaves behind: (path, step, from, to, when).
CHAIN = {
    "placed": ["draft>placed@created"],
    "confirmed": ["draft>placed@created", "placed>confirmed@confirmed"],
    "batched": ["draft>placed@created", "placed>confirmed@confirmed", "confirmed>batched@batched"],
    "in_transit": [
        "draft>placed@created",
        "placed>confirmed@confirmed",
        "confirmed>batched@batched",
        "batched>in_transit@departed",
    ],
    "at_station": [
        "draft>placed@created",
        "placed>confirmed@confirmed",
        "confirmed>batched@batched",
        "batched>in_transit@departed",
        "in_transit>at_station@arrived",
    ],
    "collected": [
        "draft>placed@created",
        "placed>confirmed@confirmed",
        "confirmed>batched@batched",
        "batched>in_transit@departed",
        "in_transit>at_station@arrived",
        "at_station>collected@collected",
    ],
    "returned": [
        "draft>placed@created",
        "placed>confirmed@confirmed",
        "confirmed>batched@batched",
        "batched>in_transit@departed",
        "in_transit>at_station@arrived",
        "at_station>collected@collected",
        "collected>returned@returned",
    ],
    "cancelled_placed": ["draft>placed@created", "placed>cancelled@cancelled"],
    "cancelled_confirmed": ["draft>placed@created", "placed>confirmed@confirmed", "confirmed>cancelled@cancelled"],
}

# Tables whose ids we write explicitly: their identity sequences move past them at the end.
EXPLICIT_ID_TABLES = [
    "auth_user",
    "partners_county",
    "partners_warehouse",
    "partners_village",
    "partners_servicecenter",
    "partners_stationstaff",
    "partners_countymanager",
    "partners_villager",
    "orders_seller",
    "orders_category",
    "orders_product",
    "orders_stock",
    "orders_order",
    "orders_orderline",
    "orders_orderevent",
    "orders_commissionentry",
    "logistics_vehicle",
    "logistics_route",
    "logistics_route_vehicles",
    "logistics_routestop",
    "logistics_deliverybatch",
    "logistics_batchstop",
    "logistics_parcel",
]


def _kind(column: int) -> str:
    return "ARRAY[" + ",".join(str(k[column]) for k in KINDS) + "]::numeric[]"


def price(p: str) -> str:
    """A product's price from its id alone: the same formula fills orders_product."""
    return f"round(({_kind(1)})[1 + ({p}) % {len(KINDS)}] * (0.8 + (({p}) % 41) / 100.0), 2)"


def kg(p: str) -> str:
    return f"({_kind(2)})[1 + ({p}) % {len(KINDS)}]"


def m3(p: str) -> str:
    return f"({_kind(3)})[1 + ({p}) % {len(KINDS)}]"


def rate(p: str) -> str:
    """The default commission rate of the product's seller (seller 1 + p % SELLERS, rate 2 + seller % 7)."""
    return f"(2 + (1 + ({p}) % {SELLERS}) % 7)::numeric"


def line_product(g: str, k) -> str:
    return f"(1 + (({g}) * 131 + ({k}) * 1009) % {PRODUCTS})"  # 1009·k mod 3000 differs for k < 3


def line_qty(g: str, k) -> str:
    return f"(1 + ((({g}) + ({k})) % 3 = 0)::int)"


def line_count(g: str) -> str:
    return f"(1 + (({g}) * 31) % 3)"


def _sum_lines(g: str, term) -> str:
    """Σ over the 1-3 lines of order g, spelled out: no join, no GROUP BY over millions of lines."""
    return " + ".join(
        f"CASE WHEN {line_count(g)} > {k} THEN {term(line_product(g, k), line_qty(g, k))} ELSE 0 END" for k in range(3)
    )


def _sql_list(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _number(g: str, day: str) -> str:
    """An order number like the real ones (yymmdd-XXXXXX), unique because ``g`` maps to it one to one."""
    x = f"(({g}) * 387420489::bigint) & 1073741823"  # an odd multiplier permutes the 30-bit range
    chars = " || ".join(f"substr('{ALPHABET}', ((({x}) >> {5 * i}) & 31)::int + 1, 1)" for i in range(5, -1, -1))
    return f"to_char({day}, 'YYMMDD') || '-' || {chars}"


def functions() -> list[str]:
    """Session-local helpers (pg_temp): nothing is left behind in the database."""
    return [
        # A cheap deterministic die for row g: 0..999.
        "CREATE FUNCTION pg_temp.die(g bigint, salt int) RETURNS int LANGUAGE sql IMMUTABLE AS "
        "$$ SELECT (((g * 2654435761 + salt * 97531) % 1000003) % 1000)::int $$",
    ]


def network() -> list[str]:
    """Counties, warehouses, villages, stations, users and staff, routes, vehicles, catalog."""
    spc, rpc, spr, vpr = STATIONS_PER_COUNTY, ROUTES_PER_COUNTY, STOPS_PER_ROUTE, VEHICLES_PER_ROUTE
    kinds = "VALUES " + ", ".join(
        f"({i}, '{name}', {price}, {kg}, {m3}, {str(install).lower()}, {parent})"
        for i, (name, price, kg, m3, install, parent) in enumerate(KINDS)
    )
    return [
        f"""INSERT INTO partners_county (id, code, name, province, commission_netting)
            SELECT c, '41' || lpad(c::text, 4, '0'), '第' || c || '县', '基准省', false
            FROM generate_series(1, {COUNTIES}) c""",
        f"""INSERT INTO partners_warehouse (id, code, name, address, county_id)
            SELECT c, 'PWH-' || c, '第' || c || '县仓', '县城工业园' || c || '号', c FROM generate_series(1, {COUNTIES}) c""",
        f"""INSERT INTO partners_village (id, town, name, county_id)
            SELECT s, '第' || (1 + (s - 1) % {spc} / 5) || '镇', '第' || s || '村', 1 + (s - 1) / {spc}
            FROM generate_series(1, {STATIONS}) s""",
        f"""INSERT INTO partners_servicecenter (id, code, name, address, phone, status, opened_on, village_id,
                                                pay_on_pickup_limit)
            SELECT s, 'PS' || lpad(s::text, 5, '0'), '第' || s || '村服务站', '第' || s || '村村委会旁',
                   '+86139' || lpad(s::text, 8, '0'), 'active', DATE '2018-01-01' + (s % 1500), s, 2000
            FROM generate_series(1, {STATIONS}) s""",
        # One partner per station; users 1..STATIONS (station 1's is "partner"), then county and admin.
        f"""INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT s, '!', false, CASE WHEN s = 1 THEN 'partner' ELSE 'p' || s END, '', '', '', false, true,
                   TIMESTAMPTZ '2018-01-01 00:00+08'
            FROM generate_series(1, {STATIONS}) s
            UNION ALL SELECT {STATIONS} + 1, '!', false, 'county', '', '', '', false, true, TIMESTAMPTZ '2018-01-01 00:00+08'
            UNION ALL SELECT {STATIONS} + 2, '!', true, 'admin', '', '', '', true, true, TIMESTAMPTZ '2018-01-01 00:00+08'""",
        f"""INSERT INTO partners_stationstaff (id, role, service_center_id, user_id)
            SELECT s, 'partner', s, s FROM generate_series(1, {STATIONS}) s""",
        f"INSERT INTO partners_countymanager (id, county_id, user_id) VALUES (1, 1, {STATIONS} + 1)",
        f"""INSERT INTO logistics_route (id, code, name, cutoff_time, departure_weekdays, warehouse_id)
            SELECT r, 'PR' || r, '第' || (1 + (r - 1) / {rpc}) || '县' || (1 + (r - 1) % {rpc}) || '号线',
                   TIME '{CUTOFF}', '1234567', 1 + (r - 1) / {rpc}
            FROM generate_series(1, {ROUTES}) r""",
        f"""INSERT INTO logistics_routestop (id, sequence, route_id, service_center_id)
            SELECT s, 1 + (s - 1) % {spr}, 1 + (s - 1) / {spr}, s FROM generate_series(1, {STATIONS}) s""",
        f"""INSERT INTO logistics_vehicle (id, plate, capacity_kg, capacity_m3, is_active, warehouse_id)
            SELECT v, '豫P' || lpad(v::text, 5, '0'), 15000, 60, true, 1 + ((v - 1) / {vpr}) / {rpc}
            FROM generate_series(1, {VEHICLES}) v""",
        f"""INSERT INTO logistics_route_vehicles (id, route_id, vehicle_id)
            SELECT v, 1 + (v - 1) / {vpr}, v FROM generate_series(1, {VEHICLES}) v""",
        f"""INSERT INTO orders_seller (id, name, default_commission_rate)
            SELECT s, '供应商' || lpad(s::text, 3, '0'), 2 + s % 7 FROM generate_series(1, {SELLERS}) s""",
        f"""INSERT INTO orders_category (id, name, name_en, slug, position, parent_id)
            SELECT i, n, '', 'p-cat-' || i, i, NULL FROM unnest({_sql_list(PARENTS)}) WITH ORDINALITY AS t(n, i)
            UNION ALL
            SELECT 10 + (p - 1) * 5 + c, ({_sql_list(PARENTS)})[p] || c || '类', '', 'p-cat-' || p || '-' || c, c, p
            FROM generate_series(1, {len(PARENTS)}) p, generate_series(1, 5) c""",
        f"""INSERT INTO orders_product (id, sku, name, unit, price, weight_kg, volume_m3, needs_installation,
                                        is_active, category_id, seller_id, search_text)
            SELECT n, 'PV' || lpad(n::text, 6, '0'), k.name || ' ' || (n / {len(KINDS)} + 1) || '号', '件',
                   {price("n")}, k.kg, k.m3, k.install, true,
                   10 + (k.parent - 1) * 5 + 1 + n % 5, 1 + n % {SELLERS},
                   k.name || ' pv' || lpad(n::text, 6, '0')
            FROM generate_series(1, {PRODUCTS}) n
            JOIN ({kinds}) AS k(i, name, price, kg, m3, install, parent) ON k.i = n % {len(KINDS)}""",
    ]


def villagers(count: int, now: str) -> list[str]:
    """``count`` villagers, round-robin over the stations: villager v lives at station 1 + (v-1) % STATIONS."""
    return [
        f"""INSERT INTO partners_villager (id, name, phone, sms_consent, notes, created_at, updated_at,
                                          created_by_id, service_center_id)
            SELECT v, substr('{SURNAMES}', (1 + v % {len(SURNAMES)})::int, 1) || ({_sql_list(GIVEN)})[1 + (v / {len(SURNAMES)}) % {len(GIVEN)}],
                   CASE WHEN v % 10 < 7 THEN '+86138' || lpad(v::text, 8, '0') ELSE '' END,
                   v % 10 < 5, '', {now}::timestamptz - interval '400 days', {now}::timestamptz - interval '400 days',
                   1 + (v - 1) % {STATIONS}, 1 + (v - 1) % {STATIONS}
            FROM generate_series(1::bigint, {count}) v""",
    ]


def orders(count: int, villager_count: int, now: str, *, batch_version: bool = False) -> list[str]:
    """The history: a temp table of orders (po) with their sums computed from the line formulas, then the rows.

    ``batch_version``: the schema has DeliveryBatch.version (NOT NULL, a Python-side default).
    """
    version_col, version_val = (", version", ", 0") if batch_version else ("", "")
    per_station = villager_count // STATIONS
    today = f"({now}::timestamptz AT TIME ZONE '{TZ}')::date"
    chain_rows = ", ".join(
        f"('{path}', {step}, '{fr}', '{to}', '{when}')"
        for path, steps in CHAIN.items()
        for step, entry in enumerate(steps)
        for fr, to, when in [(*entry.split("@")[0].split(">"), entry.split("@")[1])]
    )
    at = lambda col: f"(({col}) + TIME '{{}}') AT TIME ZONE '{TZ}'"  # noqa: E731 - local wall time on a date
    return [
        f"""CREATE TEMP TABLE po AS
            WITH base AS (
                SELECT g AS order_id, {line_count("g")} AS n_lines,
                       {_sum_lines("g", lambda p, q: f"{price(p)} * {q}")} AS total,
                       {_sum_lines("g", lambda p, q: f"round({price(p)} * {q} * {rate(p)} / 100, 2)")} AS commission_total,
                       {_sum_lines("g", lambda p, q: q)} AS item_count,
                       {_sum_lines("g", lambda p, q: f"{kg(p)} * {q}")} AS kg,
                       {_sum_lines("g", lambda p, q: f"{m3(p)} * {q}")} AS m3,
                       1 + (g * 7919) % {STATIONS} AS station_id, pg_temp.die(g, 1) AS u,
                       {now}::timestamptz - make_interval(secs => (g * 48271) % ({HISTORY_DAYS} * 86400)) AS created_at
                FROM generate_series(1::bigint, {count}) g
            ), dated AS (
                SELECT b.*, 1 + (b.station_id - 1) / {STOPS_PER_ROUTE} AS route_id,
                       1 + (b.station_id - 1) / {STATIONS_PER_COUNTY} AS warehouse_id,
                       (b.created_at AT TIME ZONE '{TZ}')::date AS cday
                FROM base b
            ), stated AS (
                SELECT d.*, d.cday + 1 AS dd, (d.cday + 1)::timestamp AT TIME ZONE '{TZ}' AS dd_start,
                  CASE
                    WHEN d.cday >= {today} THEN
                      CASE WHEN d.u < 20 THEN 'draft' WHEN d.u < 300 THEN 'placed'
                           WHEN d.u < 325 THEN 'cancelled_placed' WHEN d.u < 350 THEN 'cancelled_confirmed'
                           ELSE 'confirmed' END
                    WHEN d.u < 25 THEN 'cancelled_placed'
                    WHEN d.u < 50 THEN 'cancelled_confirmed'
                    WHEN d.cday + 1 = {today} THEN CASE WHEN d.route_id % 2 = 0 THEN 'batched' ELSE 'in_transit' END
                    WHEN {today} - (d.cday + 1) <= 7 AND d.u >= 80 AND d.u < 280 THEN 'at_station'
                    WHEN {today} - (d.cday + 1) >= 3 AND d.u < 80 THEN 'returned'
                    ELSE 'collected'
                  END AS path
                FROM dated d
            )
            SELECT t.*, CASE t.path
                       WHEN 'draft' THEN t.created_at WHEN 'placed' THEN t.created_at
                       WHEN 'confirmed' THEN t.confirmed_time WHEN 'batched' THEN t.batched_time
                       WHEN 'in_transit' THEN t.departed_time WHEN 'at_station' THEN t.arrived_time
                       WHEN 'collected' THEN t.collected_time WHEN 'returned' THEN t.returned_time
                       ELSE t.cancelled_time END AS updated_at
            FROM (
              SELECT s.*, CASE WHEN s.path LIKE 'cancelled%' THEN 'cancelled' ELSE s.path END AS status,
                     {_number("s.order_id", "s.cday")} AS number,
                     s.station_id + {STATIONS} * ((s.order_id * 17) % {per_station}) AS villager_id,
                     s.created_at + interval '10 minutes' AS confirmed_time,
                     s.created_at + interval '30 minutes' AS cancelled_time,
                     s.dd_start + interval '16 hours' AS batched_time,
                     s.dd_start + interval '17 hours' AS departed_time,
                     s.dd_start + interval '20 hours' AS arrived_time,
                     s.dd_start + make_interval(hours => 20 + s.u % 12) AS collected_time,
                     s.dd_start + make_interval(hours => 44 + s.u % 12) AS returned_time
              FROM stated s
            ) t""",
        f"CREATE TEMP TABLE chain (path text, step int, from_status text, to_status text, at text); "
        f"INSERT INTO chain VALUES {chain_rows}",
        """INSERT INTO orders_order (id, number, status, delivery_method, payment_method, total, commission_total,
                item_count, weight_kg, volume_m3, pickup_code, idempotency_key, request_hash, notes, created_at,
                updated_at, confirmed_at, collected_at, placed_by_id, service_center_id, villager_id, warehouse_id)
            SELECT order_id, number, status,
                   CASE WHEN u % 10 < 8 THEN 'station_pickup' ELSE 'home_delivery' END,
                   CASE WHEN u % 10 < 7 THEN 'cash_at_station' ELSE 'pay_on_pickup' END,
                   total, commission_total, item_count, kg, m3, lpad(((order_id * 7919) % 1000000)::text, 6, '0'),
                   'province-' || order_id, '', '', created_at, updated_at,
                   CASE WHEN path IN ('draft', 'placed', 'cancelled_placed') THEN NULL ELSE confirmed_time END,
                   CASE WHEN path IN ('collected', 'returned') THEN collected_time END,
                   station_id, station_id, villager_id, warehouse_id
            FROM po""",
        f"""INSERT INTO orders_orderline (id, quantity, unit_price, line_total, commission_rate, commission_amount,
                                          order_id, product_id)
            SELECT (g - 1) * 3 + k + 1, {line_qty("g", "k")}, {price(line_product("g", "k"))},
                   {price(line_product("g", "k"))} * {line_qty("g", "k")}, {rate(line_product("g", "k"))},
                   round({price(line_product("g", "k"))} * {line_qty("g", "k")} * {rate(line_product("g", "k"))} / 100, 2),
                   g, {line_product("g", "k")}
            FROM generate_series(1::bigint, {count}) g CROSS JOIN LATERAL generate_series(0, {line_count("g")} - 1) k""",
        """INSERT INTO orders_orderevent (from_status, to_status, note, created_at, actor_id, order_id)
           SELECT c.from_status, c.to_status, '',
                  CASE c.at WHEN 'created' THEN po.created_at WHEN 'confirmed' THEN po.confirmed_time
                            WHEN 'batched' THEN po.batched_time WHEN 'departed' THEN po.departed_time
                            WHEN 'arrived' THEN po.arrived_time WHEN 'collected' THEN po.collected_time
                            WHEN 'returned' THEN po.returned_time ELSE po.cancelled_time END,
                  CASE WHEN c.at IN ('batched', 'departed') THEN NULL ELSE po.station_id END, po.order_id
           FROM po JOIN chain c ON c.path = po.path""",
        # Runs: one batch per route and day of the orders that went out; today's are planned or on the road.
        f"""CREATE TEMP TABLE pb AS
            SELECT row_number() OVER (ORDER BY dd, route_id) AS id, route_id, dd, min(warehouse_id) AS warehouse_id,
                   sum(kg) AS kg, sum(m3) AS m3, count(*) AS parcels,
                   CASE WHEN dd < {today} THEN 'completed' WHEN route_id % 2 = 0 THEN 'planned' ELSE 'in_transit' END
                       AS status,
                   {at("dd").format("16:00")} AS planned_time, {at("dd").format("17:00")} AS departed_time,
                   {at("dd").format("20:00")} AS arrived_time
            FROM po WHERE status IN ('batched', 'in_transit', 'at_station', 'collected', 'returned')
            GROUP BY route_id, dd""",
        f"""INSERT INTO logistics_deliverybatch (id, code, dispatch_date, status, total_weight_kg, total_volume_m3,
                parcel_count, created_at, departed_at, completed_at, warehouse_id, route_id, vehicle_id{version_col})
            SELECT id, 'PR' || route_id || '-' || to_char(dd, 'YYMMDD') || '-H', dd, status, kg, m3, parcels,
                   planned_time, CASE WHEN status <> 'planned' THEN departed_time END,
                   CASE WHEN status = 'completed' THEN arrived_time END,
                   warehouse_id, route_id, (route_id - 1) * {VEHICLES_PER_ROUTE} + 1{version_val}
            FROM pb""",
        """CREATE TEMP TABLE pbs AS
            SELECT row_number() OVER (ORDER BY b.id, x.station_id) AS id, b.id AS batch_id, x.station_id,
                   b.route_id, b.dd,
                   row_number() OVER (PARTITION BY b.id ORDER BY x.station_id) AS sequence, b.status AS batch_status,
                   b.arrived_time
            FROM pb b
            JOIN (SELECT DISTINCT route_id, dd, station_id FROM po
                  WHERE status IN ('batched', 'in_transit', 'at_station', 'collected', 'returned')) x
              ON x.route_id = b.route_id AND x.dd = b.dd""",
        """INSERT INTO logistics_batchstop (id, sequence, status, arrived_at, received_at, received_by_id,
                                            service_center_id, batch_id)
           SELECT id, sequence, CASE WHEN batch_status = 'completed' THEN 'received' ELSE 'pending' END,
                  CASE WHEN batch_status = 'completed' THEN arrived_time END,
                  CASE WHEN batch_status = 'completed' THEN arrived_time END,
                  CASE WHEN batch_status = 'completed' THEN station_id END, station_id, batch_id
           FROM pbs""",
        """INSERT INTO logistics_parcel (id, label, weight_kg, volume_m3, status, note, overdue_since,
                                          batch_stop_id, order_id)
            SELECT po.order_id, 'P' || po.number, po.kg, po.m3,
                   CASE WHEN s.batch_status = 'completed' THEN 'delivered' ELSE 'loaded' END, '', NULL, s.id,
                   po.order_id
            FROM po JOIN pbs s ON s.route_id = po.route_id AND s.dd = po.dd AND s.station_id = po.station_id
            WHERE po.status IN ('batched', 'in_transit', 'at_station', 'collected', 'returned')""",
        # The ledger: an accrual per collected order, its exact negation per return (INSERT only).
        """INSERT INTO orders_commissionentry (kind, amount, created_at, note, created_by_id, order_id,
                                               service_center_id, statement_id)
           SELECT 'accrual', commission_total, collected_time, '', NULL::int, order_id, station_id, NULL::bigint
           FROM po WHERE path IN ('collected', 'returned')
           UNION ALL
           SELECT 'reversal', -commission_total, returned_time, '', station_id, order_id, station_id, NULL
           FROM po WHERE path = 'returned'
           ORDER BY 3""",
        # Stock: reserved is what placed, confirmed and batched orders hold; on hand a little more.
        f"""INSERT INTO orders_stock (id, on_hand, reserved, product_id, warehouse_id)
            SELECT (w - 1) * {PRODUCTS} + p, coalesce(r.q, 0) + 200 + (p * 7 + w) % 300, coalesce(r.q, 0), p, w
            FROM generate_series(1, {COUNTIES}) w CROSS JOIN generate_series(1, {PRODUCTS}) p
            LEFT JOIN (SELECT po.warehouse_id, {line_product("po.order_id", "k")} AS product_id,
                              sum({line_qty("po.order_id", "k")}) AS q
                       FROM po CROSS JOIN LATERAL generate_series(0, po.n_lines - 1) k
                       WHERE po.status IN ('placed', 'confirmed', 'batched')
                       GROUP BY 1, 2) r ON r.warehouse_id = w AND r.product_id = p""",
    ]


def finish() -> list[str]:
    return [
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        for table in EXPLICIT_ID_TABLES
    ]


def dispatch_orders(first_id: int, count: int, confirmed_at: str, villager_count: int) -> list[str]:
    """``count`` confirmed orders of one line each, spread over every station (so every warehouse and route).

    Placed and confirmed yesterday, before the cutoff of the dispatch day, with
    their events and the stock they reserve: what a province's day looks like
    at the moment the routes' cutoffs come.
    """
    per_station = max(1, villager_count // STATIONS)
    last = first_id + count - 1
    return [
        f"""CREATE TEMP TABLE dl AS
            SELECT g AS order_id, 1 + (g * 7919) % {STATIONS} AS station_id, p.id AS product_id,
                   1 + (g % 2) AS qty, p.price, s.default_commission_rate AS rate, p.weight_kg, p.volume_m3
            FROM generate_series({first_id}::bigint, {last}) g
            JOIN orders_product p ON p.id = 1 + (g * 131) % {PRODUCTS}
            JOIN orders_seller s ON s.id = p.seller_id""",
        f"""INSERT INTO orders_order (id, number, status, delivery_method, payment_method, total, commission_total,
                item_count, weight_kg, volume_m3, pickup_code, idempotency_key, request_hash, notes, created_at,
                updated_at, confirmed_at, collected_at, placed_by_id, service_center_id, villager_id, warehouse_id)
            SELECT order_id, {_number("order_id", f"({confirmed_at}::timestamptz AT TIME ZONE '{TZ}')::date")},
                   'confirmed', 'station_pickup', 'cash_at_station', price * qty,
                   round(price * qty * rate / 100, 2), qty, weight_kg * qty, volume_m3 * qty,
                   lpad(((order_id * 7919) % 1000000)::text, 6, '0'), 'province-' || order_id, '', '',
                   {confirmed_at}::timestamptz - interval '10 minutes', {confirmed_at}::timestamptz, {confirmed_at}::timestamptz, NULL,
                   station_id, station_id, station_id + {STATIONS} * ((order_id * 17) % {per_station}),
                   1 + (station_id - 1) / {STATIONS_PER_COUNTY}
            FROM dl""",
        """INSERT INTO orders_orderline (id, quantity, unit_price, line_total, commission_rate, commission_amount,
                                         order_id, product_id)
           SELECT (order_id - 1) * 3 + 1, qty, price, price * qty, rate, round(price * qty * rate / 100, 2),
                  order_id, product_id
           FROM dl""",
        f"""INSERT INTO orders_orderevent (from_status, to_status, note, created_at, actor_id, order_id)
            SELECT e.f, e.t, '', {confirmed_at}::timestamptz - e.back, dl.station_id, dl.order_id
            FROM dl CROSS JOIN (VALUES ('draft', 'placed', interval '10 minutes'),
                                       ('placed', 'confirmed', interval '0 minutes')) AS e(f, t, back)""",
        f"""UPDATE orders_stock s SET reserved = s.reserved + r.q, on_hand = s.on_hand + r.q
            FROM (SELECT 1 + (station_id - 1) / {STATIONS_PER_COUNTY} AS warehouse_id, product_id, sum(qty) AS q
                  FROM dl GROUP BY 1, 2) r
            WHERE s.warehouse_id = r.warehouse_id AND s.product_id = r.product_id""",
        *[
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}) + 1, false)"
            for t in ("orders_order", "orders_orderline")
        ],
        "DROP TABLE dl",
    ]
