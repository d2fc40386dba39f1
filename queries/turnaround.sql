-- name: turnaround
-- title: Turnaround time (open to close) and on-time share, by job type
-- title_zh: 按作业类型的维修周期与准时交车率
-- description: Hours from opening to closing a repair order: median, mean and maximum, and the share closed within the promise for the job (maintenance and recall 4 h, repair and warranty 24 h, insurance 72 h).
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: hours
WITH orders AS (
    SELECT
        job_type,
        (CAST(closed_at AS BIGINT) - CAST(opened_at AS BIGINT)) / 3600000000.0 AS hours,
        CASE job_type
            WHEN 'maintenance' THEN 4
            WHEN 'recall' THEN 4
            WHEN 'repair' THEN 24
            WHEN 'warranty' THEN 24
            ELSE 72
        END AS promised_hours
    FROM repair_orders
    WHERE opened_at >= CAST($start AS TIMESTAMP) AND opened_at < CAST($end AS TIMESTAMP)
)
SELECT
    job_type,
    count(*) AS orders,
    round(median(hours), 2) AS median_hours,
    round(avg(hours), 2) AS mean_hours,
    round(max(hours), 2) AS max_hours,
    round(avg(CASE WHEN hours <= promised_hours THEN 1.0 ELSE 0.0 END), 4) AS on_time_share
FROM orders
GROUP BY 1
ORDER BY 1
