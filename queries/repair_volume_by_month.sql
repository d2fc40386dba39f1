-- name: repair_volume_by_month
-- title: Repair volume and revenue by month and station
-- title_zh: 按月和服务站的维修台次与产值
-- description: Repair orders opened per month and station, labour and parts revenue, and the parts share of revenue.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: CNY
SELECT
    to_char(ro.opened_at, '%Y-%m') AS month,
    ro.station_id,
    s.name AS station_name,
    count(*) AS repair_orders,
    round(sum(ro.labour_cny), 2) AS labour_cny,
    round(sum(ro.parts_cny), 2) AS parts_cny,
    round(sum(ro.labour_cny + ro.parts_cny), 2) AS revenue_cny,
    round(sum(ro.parts_cny) / nullif(sum(ro.labour_cny + ro.parts_cny), 0), 4) AS parts_share
FROM repair_orders ro
JOIN stations s ON s.station_id = ro.station_id
WHERE ro.opened_at >= CAST($start AS TIMESTAMP) AND ro.opened_at < CAST($end AS TIMESTAMP)
GROUP BY 1, 2, 3
ORDER BY 1, 2
