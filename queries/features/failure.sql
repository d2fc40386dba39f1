-- name: failure
-- title: Failure-prediction features: one row per vehicle in service and component that can fail on its powertrain
-- title_zh: 故障预测特征：每辆在役车辆与其动力类型可能发生故障的零部件，一行一组合
-- description: Every feature uses only rows dated on or before `cutoff`; `label` is true when the component fails (a repair or warranty order) from the day after the cutoff through `horizon_end`. Clocks restart at the last repair of the component (renewal). The component's recent failure rate on the same make, model and model year lets the model see emerging issues; the months since the vehicle's last visit of any kind tell an owner still served by the network from one who left (whose failures are repaired elsewhere, unseen). Kilometres are the latest odometer reading (a repair order or a used-car sale) carried to the cutoff at the current owner's pace, as in `first_failures`: each owner drives at their own pace. Text columns are identifiers (make and powertrain also pick the fitted life law that `aftersight train` adds as `law_p_months`, `law_p_km` and `law_p`), `label` is the target, every other column is a numeric feature.
-- param: cutoff date 2026-07-31
-- param: horizon_end date 2026-10-29
-- unit: one row per vehicle and component
WITH history AS (
    SELECT vin, component, job_type, opened_at, odometer_km
    FROM repair_orders
    WHERE opened_at < CAST($cutoff AS TIMESTAMP) + INTERVAL '1 day'
),
fleet AS (
    SELECT
        v.vin, v.make, v.model, v.model_year, v.powertrain,
        (CAST(CAST($cutoff AS TIMESTAMP) AS BIGINT) - CAST(CAST(v.first_registration_date AS TIMESTAMP) AS BIGINT))
            / 86400000000000.0 AS age_days
    FROM vehicles v
    WHERE v.first_registration_date <= $cutoff
),
sales AS (
    SELECT vin, CAST(CAST(sale_date AS TIMESTAMP) AS BIGINT) / 86400000000000.0 AS day, odometer_km
    FROM transactions
    WHERE sale_date <= $cutoff
),
readings AS (
    -- Every odometer reading by the cutoff, in days since 1970: repair orders, sales, and 0 km at registration.
    SELECT vin, CAST(CAST(opened_at AS TIMESTAMP) AS BIGINT) / 86400000000000.0 AS day, CAST(odometer_km AS DOUBLE) AS km,
        true AS repair_order, false AS new_owner
    FROM history
    UNION ALL
    SELECT vin, day, CAST(odometer_km AS DOUBLE), false, true FROM sales
    UNION ALL
    SELECT vin, CAST(CAST($cutoff AS TIMESTAMP) AS BIGINT) / 86400000000000.0 - age_days, 0.0, false, true FROM fleet
),
owners AS (
    -- The current owner's first day: their purchase, else registration.
    SELECT vin, max(CASE WHEN new_owner THEN day END) AS owner_since
    FROM readings
    GROUP BY vin
),
current_owner AS (
    SELECT r.vin,
        min(r.day) AS first_day, first_value(r.km ORDER BY r.day) AS first_km,
        max(r.day) AS last_day, last_value(r.km ORDER BY r.day) AS last_km
    FROM readings r
    JOIN owners o ON o.vin = r.vin AND r.day >= o.owner_since
    GROUP BY r.vin
),
usage AS (
    SELECT c.vin, f.make, f.model, c.last_day, c.last_km,
        CASE WHEN c.last_day - c.first_day >= 30 THEN (c.last_km - c.first_km) / (c.last_day - c.first_day) END AS km_per_day
    FROM current_owner c
    JOIN fleet f ON f.vin = c.vin
),
model_usage AS (
    SELECT make, model, median(km_per_day) AS km_per_day
    FROM usage
    GROUP BY make, model
),
last_visit AS (
    SELECT vin, max(opened_at) AS last_read
    FROM history
    GROUP BY vin
),
odometer AS (
    -- The odometer at the cutoff: the latest reading carried forward at the current owner's pace (the make and
    -- model's median pace until the owner has two readings 30 days apart), as `first_failures` does.
    SELECT
        f.*,
        v.last_read,
        coalesce(u.km_per_day, mu.km_per_day, 0.0) AS km_per_day,
        u.last_km + coalesce(u.km_per_day, mu.km_per_day, 0.0)
            * greatest(CAST(CAST($cutoff AS TIMESTAMP) AS BIGINT) / 86400000000000.0 - u.last_day, 0.0) AS km_now
    FROM fleet f
    JOIN usage u ON u.vin = f.vin
    LEFT JOIN model_usage mu ON mu.make = f.make AND mu.model = f.model
    LEFT JOIN last_visit v ON v.vin = f.vin
),
failures AS (
    SELECT * FROM history WHERE job_type IN ('repair', 'warranty') AND component IS NOT NULL
),
applicable AS (
    SELECT DISTINCT v.powertrain, f.component
    FROM failures f
    JOIN vehicles v ON v.vin = f.vin
),
last_repair AS (
    SELECT vin, component, count(*) AS prior_failures, max(opened_at) AS last_at,
           last_value(odometer_km ORDER BY opened_at) AS last_km
    FROM failures
    GROUP BY vin, component
),
recent_rates AS (
    SELECT v.make, v.model, v.model_year, f.component, count(*) AS failures_12m
    FROM failures f
    JOIN vehicles v ON v.vin = f.vin
    WHERE f.opened_at >= CAST($cutoff AS TIMESTAMP) - INTERVAL '365 days'
    GROUP BY 1, 2, 3, 4
),
model_sizes AS (
    SELECT make, model, model_year, count(*) AS vehicles FROM fleet GROUP BY 1, 2, 3
),
vehicle_repairs AS (
    SELECT vin, count(*) AS repairs_12m
    FROM failures
    WHERE opened_at >= CAST($cutoff AS TIMESTAMP) - INTERVAL '365 days'
    GROUP BY vin
),
outcome AS (
    SELECT DISTINCT vin, component
    FROM repair_orders
    WHERE job_type IN ('repair', 'warranty')
      AND opened_at >= CAST($cutoff AS TIMESTAMP) + INTERVAL '1 day'
      AND opened_at < CAST($horizon_end AS TIMESTAMP) + INTERVAL '1 day'
)
SELECT
    o.vin,
    a.component,
    o.make,
    o.powertrain,
    y.vin IS NOT NULL AS label,
    o.age_days / 30.4375 AS age_months,
    o.km_now / 1000.0 AS thousand_km,
    o.km_per_day,
    CASE WHEN o.last_read IS NULL THEN o.age_days / 30.4375
         ELSE (CAST(CAST($cutoff AS TIMESTAMP) AS BIGINT) - CAST(CAST(o.last_read AS TIMESTAMP) AS BIGINT)) / (86400000000000.0 * 30.4375)
    END AS months_since_last_visit,
    CAST(coalesce(l.prior_failures, 0) AS DOUBLE) AS prior_failures,
    CASE WHEN l.last_at IS NULL THEN o.age_days / 30.4375
         ELSE (CAST(CAST($cutoff AS TIMESTAMP) AS BIGINT) - CAST(CAST(l.last_at AS TIMESTAMP) AS BIGINT)) / (86400000000000.0 * 30.4375)
    END AS months_since_renewal,
    (o.km_now - coalesce(l.last_km, 0)) / 1000.0 AS thousand_km_since_renewal,
    CAST(coalesce(vr.repairs_12m, 0) AS DOUBLE) AS vehicle_repairs_12m,
    coalesce(CAST(rr.failures_12m AS DOUBLE) / ms.vehicles, 0.0) AS model_component_rate_12m,
    CASE WHEN o.powertrain IN ('BEV', 'PHEV') THEN 1.0 ELSE 0.0 END AS plug_in
FROM odometer o
JOIN applicable a ON a.powertrain = o.powertrain
JOIN model_sizes ms ON ms.make = o.make AND ms.model = o.model AND ms.model_year = o.model_year
LEFT JOIN last_repair l ON l.vin = o.vin AND l.component = a.component
LEFT JOIN recent_rates rr ON rr.make = o.make AND rr.model = o.model AND rr.model_year = o.model_year AND rr.component = a.component
LEFT JOIN vehicle_repairs vr ON vr.vin = o.vin
LEFT JOIN outcome y ON y.vin = o.vin AND y.component = a.component
ORDER BY o.vin, a.component
