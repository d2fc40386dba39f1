-- name: churn_top_customers
-- title: The ten customers most at risk of churn
-- title_zh: 流失风险最高的十位客户
-- description: The ten highest churn probabilities (ties by customer id), with name, city, segment ("–" without one) and last visit; the last visit is aggregated for those ten customers only.
-- unit: probability
WITH top AS (
    SELECT customer_id, probability
    FROM churn_predictions
    ORDER BY probability DESC, customer_id
    LIMIT 10
),
visits AS (
    SELECT customer_id, max(opened_at) AS last_visit
    FROM repair_orders
    WHERE customer_id IN (SELECT customer_id FROM top)
    GROUP BY customer_id
)
SELECT
    c.name,
    c.city,
    COALESCE(CAST(s.segment AS VARCHAR) || ': ' || s.segment_description, '–') AS segment,
    p.probability,
    v.last_visit
FROM top p
JOIN customers c ON c.customer_id = p.customer_id
LEFT JOIN visits v ON v.customer_id = p.customer_id
LEFT JOIN segments_predictions s ON s.customer_id = p.customer_id
ORDER BY p.probability DESC, p.customer_id
