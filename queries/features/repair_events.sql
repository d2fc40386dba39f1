-- name: repair_events
-- title: Repair history per vehicle for the mean cumulative function: one row per repair, plus one end-of-observation row per vehicle
-- title_zh: 平均累积维修次数（MCF）数据：每次维修一行，另加每辆车观测截止一行
-- description: Repairs are repair and warranty orders opened on or before `as_of`, at their months in service; `event` is false on the row that closes each vehicle's observation at `as_of`. The same shape as the input of `aftersight reliability mcf`.
-- param: as_of date 2026-10-31
-- unit: months in service
WITH fleet AS (
    SELECT vin, first_registration_date FROM vehicles WHERE first_registration_date < $as_of
)
SELECT
    ro.vin,
    (CAST(CAST(ro.opened_at AS TIMESTAMP) AS BIGINT) - CAST(CAST(f.first_registration_date AS TIMESTAMP) AS BIGINT))
        / (86400000000000.0 * 30.4375) AS months,
    true AS event
FROM repair_orders ro
JOIN fleet f ON f.vin = ro.vin
WHERE ro.job_type IN ('repair', 'warranty')
  AND ro.opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
UNION ALL
SELECT
    vin,
    (CAST(CAST($as_of AS TIMESTAMP) AS BIGINT) - CAST(CAST(first_registration_date AS TIMESTAMP) AS BIGINT))
        / (86400000000000.0 * 30.4375) AS months,
    false AS event
FROM fleet
