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
-- The as-of date joins after the grouping, so the grouping has the customer id
-- as its only key.
visits AS (
    SELECT
        customer_id,
        max(opened_at) AS last_visit,
        count(*) AS frequency,
        round(sum(labour_cny + parts_cny), 2) AS monetary_cny
    FROM repair_orders
    WHERE opened_at >= CAST($start AS TIMESTAMP)
      AND opened_at < (SELECT CAST(as_of AS TIMESTAMP) FROM bounds)
    GROUP BY customer_id
),
customers AS (
    SELECT
        v.customer_id,
        CAST(b.as_of AS INT) - CAST(CAST(v.last_visit AS DATE) AS INT) AS recency_days,
        v.frequency,
        v.monetary_cny
    FROM visits v
    CROSS JOIN bounds b
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
