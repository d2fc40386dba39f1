-- name: comeback_rate
-- title: Comeback rate and fixed right first time, by station and grade
-- title_zh: 按服务站和等级的返修率与一次修复率
-- description: Share of repairs (customer-pay or warranty) followed by another repair of the same vehicle and component opened within 30 days of the first one closing; fixed right first time is its complement.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: share
WITH repairs AS (
    SELECT ro_id, vin, component, station_id, opened_at, closed_at
    FROM repair_orders
    WHERE job_type IN ('repair', 'warranty')
),
flagged AS (
    SELECT
        r.ro_id,
        r.station_id,
        max(CASE WHEN later.ro_id IS NULL THEN 0 ELSE 1 END) AS came_back
    FROM repairs r
    LEFT JOIN repairs later
        ON later.vin = r.vin
       AND later.component = r.component
       AND later.ro_id <> r.ro_id
       AND later.opened_at >= r.closed_at
       AND later.opened_at <= r.closed_at + INTERVAL '30 days'
    WHERE r.opened_at >= CAST($start AS TIMESTAMP) AND r.opened_at < CAST($end AS TIMESTAMP)
    GROUP BY r.ro_id, r.station_id
)
SELECT
    f.station_id,
    s.grade,
    count(*) AS repairs,
    sum(f.came_back) AS comebacks,
    round(avg(f.came_back), 4) AS comeback_rate,
    round(1 - avg(f.came_back), 4) AS fixed_right_first_time
FROM flagged f
JOIN stations s ON s.station_id = f.station_id
GROUP BY 1, 2
ORDER BY 1
