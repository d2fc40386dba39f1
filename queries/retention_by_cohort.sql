-- name: retention_by_cohort
-- title: Customer retention and churn by cohort (no visit for 6 and 12 months)
-- title_zh: 按客户群（首次进站年份）的保留率与流失率
-- description: Customers grouped by the year of their first visit; retained if they visited in the 6 months before the as-of date, lapsed after 6 months without a visit, churned after 12. The as-of date is the day after the last visit in the data, or `end` if earlier.
-- param: end date 2100-01-01
-- unit: share of customers
WITH bounds AS (
    SELECT least(CAST($end AS DATE), CAST(max(opened_at) AS DATE) + INTERVAL '1 day') AS as_of
    FROM repair_orders
),
customers AS (
    SELECT
        ro.customer_id,
        date_part('year', min(ro.opened_at)) AS cohort_year,
        max(ro.opened_at) AS last_visit,
        b.as_of
    FROM repair_orders ro
    CROSS JOIN bounds b
    WHERE ro.opened_at < CAST(b.as_of AS TIMESTAMP)
    GROUP BY ro.customer_id, b.as_of
)
SELECT
    CAST(cohort_year AS INT) AS cohort_year,
    count(*) AS customers,
    round(avg(CASE WHEN last_visit >= CAST(as_of AS TIMESTAMP) - INTERVAL '6 months' THEN 1.0 ELSE 0.0 END), 4) AS retained_6m,
    round(avg(CASE WHEN last_visit < CAST(as_of AS TIMESTAMP) - INTERVAL '6 months' THEN 1.0 ELSE 0.0 END), 4) AS lapsed_6m,
    round(avg(CASE WHEN last_visit < CAST(as_of AS TIMESTAMP) - INTERVAL '12 months' THEN 1.0 ELSE 0.0 END), 4) AS churned_12m
FROM customers
GROUP BY 1
ORDER BY 1
