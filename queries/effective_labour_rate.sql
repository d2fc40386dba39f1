-- name: effective_labour_rate
-- title: Effective labour rate and hours per repair order (customer pay)
-- title_zh: 客户付费有效工时单价与单车工时
-- description: Customer-pay (maintenance and repair) labour sales divided by labour hours billed, and hours billed per repair order, by station.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: CNY per hour
SELECT
    ro.station_id,
    s.grade,
    count(*) AS repair_orders,
    round(sum(ro.labour_hours), 2) AS labour_hours,
    round(sum(ro.labour_cny), 2) AS labour_cny,
    round(sum(ro.labour_cny) / nullif(sum(ro.labour_hours), 0), 2) AS effective_labour_rate,
    round(sum(ro.labour_hours) / count(*), 2) AS hours_per_ro
FROM repair_orders ro
JOIN stations s ON s.station_id = ro.station_id
WHERE ro.job_type IN ('maintenance', 'repair')
  AND ro.opened_at >= CAST($start AS TIMESTAMP) AND ro.opened_at < CAST($end AS TIMESTAMP)
GROUP BY 1, 2
ORDER BY 1
