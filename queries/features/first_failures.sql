-- name: first_failures
-- title: Life data: time to the first failure of each component, or the suspension time, per vehicle
-- title_zh: 寿命数据：每辆车各零部件首次故障时间（或截尾时间）
-- description: One row per vehicle registered by `as_of` and component that fails on its powertrain. `failed` is true when a repair or warranty order for the component was opened on or before `as_of`; the times are then months in service and odometer at that order. Otherwise the vehicle is a suspension at `as_of`, with its odometer extrapolated from its last reading at its latest usage rate: the kilometres per day since its latest reading at least 60 days before the last one, else its average since registration. (An owner's usage is steadier than a car's lifetime average, which mixes owners; noisier suspension mileages would bias the km scale upwards.)
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
        (CAST(CAST($as_of AS TIMESTAMP) AS BIGINT) - CAST(CAST(v.first_registration_date AS TIMESTAMP) AS BIGINT))
            / 86400000000000.0 AS age_days
    FROM vehicles v
    WHERE v.first_registration_date < $as_of
),
last_readings AS (
    SELECT vin, max(opened_at) AS last_read, last_value(odometer_km ORDER BY opened_at) AS last_km
    FROM repair_orders
    WHERE opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
    GROUP BY vin
),
earlier_readings AS (
    -- The latest reading at least 60 days before the last one: the current usage rate is measured from it.
    SELECT r.vin, max(r.opened_at) AS previous_read, last_value(r.odometer_km ORDER BY r.opened_at) AS previous_km
    FROM repair_orders r
    JOIN last_readings l ON l.vin = r.vin
    WHERE r.opened_at <= l.last_read - INTERVAL '60 days'
    GROUP BY r.vin
),
usage AS (
    SELECT l.vin, l.last_km,
        (CAST(CAST(l.last_read AS TIMESTAMP) AS BIGINT) - CAST(CAST(v.first_registration_date AS TIMESTAMP) AS BIGINT))
            / 86400000000000.0 AS last_read_age_days,
        CAST(CAST(l.last_read AS TIMESTAMP) AS BIGINT) / 86400000000000.0
            - CAST(CAST(e.previous_read AS TIMESTAMP) AS BIGINT) / 86400000000000.0 AS gap_days,
        l.last_km - e.previous_km AS gap_km
    FROM last_readings l
    JOIN vehicles v ON v.vin = l.vin
    LEFT JOIN earlier_readings e ON e.vin = l.vin
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
         WHEN u.last_km IS NULL THEN NULL
         WHEN u.gap_days >= 60 AND u.gap_km >= 0
             THEN (u.last_km + u.gap_km / u.gap_days * greatest(f.age_days - u.last_read_age_days, 0.0)) / 1000.0
         ELSE u.last_km / 1000.0 * f.age_days / greatest(u.last_read_age_days, 1.0)
    END AS thousand_km
FROM fleet f
JOIN applicable a ON a.powertrain = f.powertrain
LEFT JOIN first_failure ff ON ff.vin = f.vin AND ff.component = a.component
LEFT JOIN usage u ON u.vin = f.vin
ORDER BY f.vin, a.component
