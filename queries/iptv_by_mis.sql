-- name: iptv_by_mis
-- title: Incidents per thousand vehicles (IPTV) by months in service
-- title_zh: 按在用月数的千车故障数（IPTV）
-- description: Repairs (customer-pay or warranty) in each whole month in service (MIS, from first registration), per thousand vehicles observed that long by the last day of data; months without incidents are left out.
-- param: max_mis int 120
-- unit: incidents per 1,000 vehicles
WITH data_end AS (
    SELECT CAST(max(opened_at) AS DATE) AS d FROM repair_orders
),
ages AS (
    SELECT
        v.vin,
        v.first_registration_date AS reg,
        (date_part('year', e.d) - date_part('year', v.first_registration_date)) * 12
            + date_part('month', e.d) - date_part('month', v.first_registration_date)
            - CASE WHEN date_part('day', e.d) < date_part('day', v.first_registration_date) THEN 1 ELSE 0 END AS observed_months
    FROM vehicles v
    CROSS JOIN data_end e
),
incidents AS (
    SELECT
        (date_part('year', ro.opened_at) - date_part('year', a.reg)) * 12
            + date_part('month', ro.opened_at) - date_part('month', a.reg)
            - CASE WHEN date_part('day', ro.opened_at) < date_part('day', a.reg) THEN 1 ELSE 0 END AS mis
    FROM repair_orders ro
    JOIN ages a ON a.vin = ro.vin
    WHERE ro.job_type IN ('repair', 'warranty')
),
by_mis AS (
    SELECT mis, count(*) AS incidents FROM incidents WHERE mis <= $max_mis GROUP BY mis
),
-- Vehicles per months observed, so the range join below pairs a few hundred
-- rows with each months-in-service value, not every vehicle.
fleet AS (
    SELECT observed_months, count(*) AS vehicles FROM ages GROUP BY 1
),
observed AS (
    SELECT b.mis, b.incidents, sum(f.vehicles) AS vehicles_observed
    FROM by_mis b
    JOIN fleet f ON f.observed_months >= b.mis
    GROUP BY b.mis, b.incidents
)
SELECT
    CAST(mis AS INT) AS months_in_service,
    incidents,
    vehicles_observed,
    round(1000.0 * incidents / vehicles_observed, 2) AS iptv
FROM observed
ORDER BY 1
