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
-- The as-of date is a scalar subquery, not a column, so the grouping has the
-- customer id as its only key.
customers AS (
    SELECT
        customer_id,
        date_part('year', min(opened_at)) AS cohort_year,
        max(opened_at) AS last_visit
    FROM repair_orders
    WHERE opened_at < (SELECT CAST(as_of AS TIMESTAMP) FROM bounds)
    GROUP BY customer_id
)
SELECT
    CAST(c.cohort_year AS INT) AS cohort_year,
    count(*) AS customers,
    round(avg(CASE WHEN c.last_visit >= CAST(b.as_of AS TIMESTAMP) - INTERVAL '6 months' THEN 1.0 ELSE 0.0 END), 4) AS retained_6m,
    round(avg(CASE WHEN c.last_visit < CAST(b.as_of AS TIMESTAMP) - INTERVAL '6 months' THEN 1.0 ELSE 0.0 END), 4) AS lapsed_6m,
    round(avg(CASE WHEN c.last_visit < CAST(b.as_of AS TIMESTAMP) - INTERVAL '12 months' THEN 1.0 ELSE 0.0 END), 4) AS churned_12m
FROM customers c
CROSS JOIN bounds b
GROUP BY 1
ORDER BY 1
