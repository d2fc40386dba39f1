-- name: outlook_reserve
-- title: Warranty reserve by component and coverage type
-- title_zh: 按零部件和保修类型的保修准备金
-- description: The expected cost of every future claim of the fleet still under cover, until each vehicle's cover ends, with its 90 % interval (`warranty_reserve`, in `OUT/warranty/outlook/`). Rows of the same component are summed for the chart; the intervals do not add up.
-- unit: CNY
SELECT
    component,
    coverage,
    round(expected_claims, 1) AS expected_claims,
    round(expected_cost_cny, 2) AS expected_cost_cny,
    round(lower_90_cny, 2) AS lower_90_cny,
    round(upper_90_cny, 2) AS upper_90_cny
FROM warranty_reserve
ORDER BY expected_cost_cny DESC, component, coverage
