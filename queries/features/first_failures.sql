-- name: first_failures
-- title: Life data: time to the first failure of each component, or the suspension time, per vehicle
-- title_zh: 寿命数据：每辆车各零部件首次故障时间（或截尾时间）
-- description: One row per vehicle registered by `as_of` and component that fails on its powertrain. `failed` is true when a repair or warranty order for the component was opened on or before `as_of`; the times are then months in service and odometer at that order. Otherwise the vehicle is a suspension at `as_of`, with its odometer extrapolated from its latest reading (a repair order or a used-car sale) at its current owner's usage: the kilometres per day between the owner's first and latest readings (the sale that made them owner, or registration at 0 km), when at least 30 days apart. An owner without such readings yet is given the median usage of current owners of the same make and model. A vehicle without a repair order by `as_of` has no odometer (NULL). Each owner drives at their own pace, so a rate measured across owners, or the previous owner's, adds noise that flattens the fitted km shape and inflates its scale.
-- param: as_of date 2026-10-31
-- unit: months in service; thousand km
WITH failures AS (
    SELECT vin, component, opened_at, odometer_km
    FROM repair_orders
    WHERE job_type IN ('repair', 'warranty') AND component IS NOT NULL
      AND opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
),
fleet AS (
    SELECT
        v.vin, v.make, v.model, v.model_year, v.powertrain, v.first_registration_date,
        CAST(CAST(v.first_registration_date AS TIMESTAMP) AS BIGINT) / 86400000000000.0 AS registered_day,
        (CAST(CAST($as_of AS TIMESTAMP) AS BIGINT) - CAST(CAST(v.first_registration_date AS TIMESTAMP) AS BIGINT))
            / 86400000000000.0 AS age_days
    FROM vehicles v
    WHERE v.first_registration_date < $as_of
),
sales AS (
    SELECT vin, CAST(CAST(sale_date AS TIMESTAMP) AS BIGINT) / 86400000000000.0 AS day, odometer_km
    FROM transactions
    WHERE sale_date <= $as_of
),
readings AS (
    -- Every odometer reading by `as_of`, in days since 1970: repair orders, sales, and 0 km at registration.
    SELECT vin, CAST(CAST(opened_at AS TIMESTAMP) AS BIGINT) / 86400000000000.0 AS day, CAST(odometer_km AS DOUBLE) AS km,
        true AS repair_order, false AS new_owner
    FROM repair_orders
    WHERE opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
    UNION ALL
    SELECT vin, day, CAST(odometer_km AS DOUBLE), false, true FROM sales
    UNION ALL
    SELECT vin, registered_day, 0.0, false, true FROM fleet
),
owners AS (
    -- The current owner's first day (their purchase, else registration), and whether the vehicle came to the network.
    SELECT vin, max(CASE WHEN new_owner THEN day END) AS owner_since, bool_or(repair_order) AS seen
    FROM readings
    GROUP BY vin
),
current_owner AS (
    SELECT r.vin, o.seen,
        min(r.day) AS first_day, first_value(r.km ORDER BY r.day) AS first_km,
        max(r.day) AS last_day, last_value(r.km ORDER BY r.day) AS last_km
    FROM readings r
    JOIN owners o ON o.vin = r.vin AND r.day >= o.owner_since
    GROUP BY r.vin, o.seen
),
usage AS (
    SELECT c.vin, c.seen, f.make, f.model, c.last_day, c.last_km,
        CASE WHEN c.last_day - c.first_day >= 30 THEN (c.last_km - c.first_km) / (c.last_day - c.first_day) END AS km_per_day
    FROM current_owner c
    JOIN fleet f ON f.vin = c.vin
),
model_usage AS (
    SELECT make, model, median(km_per_day) AS km_per_day
    FROM usage
    GROUP BY make, model
),
applicable AS (
    SELECT DISTINCT v.powertrain, f.component
    FROM failures f
    JOIN vehicles v ON v.vin = f.vin
),
first_failure AS (
    SELECT vin, component, min(opened_at) AS failed_at, first_value(odometer_km ORDER BY opened_at) AS failed_km
    FROM failures
    GROUP BY vin, component
)
SELECT
    f.vin, f.make, f.model, CAST(f.model_year AS VARCHAR) AS model_year, f.powertrain, a.component,
    ff.vin IS NOT NULL AS failed,
    CASE WHEN ff.vin IS NULL THEN f.age_days / 30.4375
         ELSE (CAST(CAST(ff.failed_at AS TIMESTAMP) AS BIGINT) - CAST(CAST(f.first_registration_date AS TIMESTAMP) AS BIGINT))
              / (86400000000000.0 * 30.4375)
    END AS months,
    CASE WHEN ff.vin IS NOT NULL THEN ff.failed_km / 1000.0
         WHEN NOT u.seen THEN NULL
         ELSE (u.last_km + coalesce(u.km_per_day, mu.km_per_day)
               * greatest(f.registered_day + f.age_days - u.last_day, 0.0)) / 1000.0
    END AS thousand_km
FROM fleet f
JOIN applicable a ON a.powertrain = f.powertrain
LEFT JOIN first_failure ff ON ff.vin = f.vin AND ff.component = a.component
LEFT JOIN usage u ON u.vin = f.vin
LEFT JOIN model_usage mu ON mu.make = f.make AND mu.model = f.model
ORDER BY f.vin, a.component
