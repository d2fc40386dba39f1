-- name: rfm_scores
-- title: RFM scores per customer (quintiles)
-- title_zh: 客户RFM评分（五分位）
-- description: Recency (days from the last visit to the as-of date), frequency (visits) and monetary value (labour plus parts) per customer, each scored 1-5 by quintile (5 is best: most recent, most frequent, highest spend); ties are broken by customer id. The as-of date is the day after the last visit in the data, or `end` if earlier.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: days; visits; CNY
WITH bounds AS (
    SELECT least(CAST($end AS DATE), CAST(max(opened_at) AS DATE) + INTERVAL '1 day') AS as_of
    FROM repair_orders
),
customers AS (
    SELECT
        ro.customer_id,
        CAST(b.as_of AS INT) - CAST(CAST(max(ro.opened_at) AS DATE) AS INT) AS recency_days,
        count(*) AS frequency,
        round(sum(ro.labour_cny + ro.parts_cny), 2) AS monetary_cny
    FROM repair_orders ro
    CROSS JOIN bounds b
    WHERE ro.opened_at >= CAST($start AS TIMESTAMP) AND ro.opened_at < CAST(b.as_of AS TIMESTAMP)
    GROUP BY ro.customer_id, b.as_of
),
scored AS (
    SELECT
        *,
        ntile(5) OVER (ORDER BY recency_days DESC, customer_id) AS r,
        ntile(5) OVER (ORDER BY frequency, customer_id) AS f,
        ntile(5) OVER (ORDER BY monetary_cny, customer_id) AS m
    FROM customers
)
SELECT customer_id, recency_days, frequency, monetary_cny, r, f, m, CAST(r * 100 + f * 10 + m AS VARCHAR) AS rfm
FROM scored
ORDER BY customer_id
