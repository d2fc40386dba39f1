-- name: turnaround_histogram
-- title: Turnaround time distribution by job type
-- title_zh: 按作业类型的维修周期分布
-- description: Repair orders per turnaround band (open to close: under 2 h, 2-4 h, 4-8 h, 8-24 h, 1-3 days, over 3 days) and job type, with each band's share of the job type.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: repair orders
WITH orders AS (
    SELECT
        job_type,
        (CAST(closed_at AS BIGINT) - CAST(opened_at AS BIGINT)) / 3600000000.0 AS hours
    FROM repair_orders
    WHERE opened_at >= CAST($start AS TIMESTAMP) AND opened_at < CAST($end AS TIMESTAMP)
),
banded AS (
    SELECT
        job_type,
        CASE
            WHEN hours < 2 THEN 1
            WHEN hours < 4 THEN 2
            WHEN hours < 8 THEN 3
            WHEN hours < 24 THEN 4
            WHEN hours < 72 THEN 5
            ELSE 6
        END AS band
    FROM orders
)
SELECT
    job_type,
    band,
    CASE band
        WHEN 1 THEN 'under 2 h'
        WHEN 2 THEN '2-4 h'
        WHEN 3 THEN '4-8 h'
        WHEN 4 THEN '8-24 h'
        WHEN 5 THEN '1-3 days'
        ELSE 'over 3 days'
    END AS turnaround,
    count(*) AS orders,
    round(CAST(count(*) AS DOUBLE) / sum(count(*)) OVER (PARTITION BY job_type), 4) AS share
FROM banded
GROUP BY job_type, band
ORDER BY job_type, band
