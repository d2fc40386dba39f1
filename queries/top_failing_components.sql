-- name: top_failing_components
-- title: Top failing components by repairs and cost
-- title_zh: 故障最多的零部件（按维修次数与费用）
-- description: Customer-pay and warranty repairs per component, vehicles affected and total cost, most repairs first.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- param: top int 10
-- unit: repairs; CNY
SELECT
    component,
    -- sum(1), not count(*): beside count(DISTINCT vin), count(*) would keep
    -- DataFusion from rewriting the distinct count as a two-level grouping.
    sum(1) AS repairs,
    count(DISTINCT vin) AS vehicles,
    round(sum(labour_cny + parts_cny), 2) AS cost_cny
FROM repair_orders
WHERE job_type IN ('repair', 'warranty')
  AND opened_at >= CAST($start AS TIMESTAMP) AND opened_at < CAST($end AS TIMESTAMP)
GROUP BY 1
ORDER BY repairs DESC, cost_cny DESC, component
LIMIT $top
