-- name: churn_top_customers
-- title: The active customers with the most revenue at stake
-- title_zh: 流失风险收入最高的活跃客户
-- description: Customers still active (a visit in the 12 months to `as_of`, the churn label's window), ranked by the revenue at stake: the churn probability times their spend in those 12 months (ties by customer id). With name, city, segment ("–" without one), last visit, the spend and the model's drivers (`feature:high` or `feature:low` against the median, `;`-separated, strongest first).
-- param: as_of date 2026-10-31
-- param: top int 10
-- unit: probability; CNY
WITH active AS (
    SELECT customer_id, max(opened_at) AS last_visit, sum(labour_cny + parts_cny) AS spend_cny
    FROM repair_orders
    WHERE opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
      AND opened_at >= CAST($as_of AS TIMESTAMP) + INTERVAL '1 day' - INTERVAL '12 months'
    GROUP BY customer_id
)
SELECT
    c.name,
    c.city,
    COALESCE(s.segment_name, '–') AS segment,
    COALESCE(s.segment_name_zh, '–') AS segment_zh,
    p.probability,
    a.last_visit,
    a.spend_cny,
    p.probability * a.spend_cny AS revenue_at_stake_cny,
    p.drivers
FROM churn_predictions p
JOIN active a ON a.customer_id = p.customer_id
JOIN customers c ON c.customer_id = p.customer_id
LEFT JOIN segments_predictions s ON s.customer_id = p.customer_id
ORDER BY revenue_at_stake_cny DESC, p.customer_id
LIMIT $top
