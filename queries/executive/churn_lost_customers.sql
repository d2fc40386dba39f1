-- name: churn_lost_customers
-- title: Customers lost in the last 12 months
-- title_zh: 近12个月流失的客户
-- description: Customers whose last visit up to `as_of` lies between 24 and 12 months before it: a full churn window has passed without a visit, and it ended in the last 12 months.
-- param: as_of date 2026-10-31
-- unit: customers
WITH last_visits AS (
    SELECT customer_id, max(opened_at) AS last_visit
    FROM repair_orders
    WHERE opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
    GROUP BY customer_id
)
SELECT count(*) AS lost
FROM last_visits
WHERE last_visit < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day' - INTERVAL '12 months'
  AND last_visit >= CAST($as_of AS TIMESTAMP) + INTERVAL '1 day' - INTERVAL '24 months'
