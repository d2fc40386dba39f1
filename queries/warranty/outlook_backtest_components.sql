-- name: outlook_backtest_components
-- title: Backtest by component: forecast against actual claims over the six months
-- title_zh: 分零部件回测：六个月预测与实际索赔
-- description: Per component, the claims forecast six months ago for the months since (`warranty_backtest_forecast_by_component`) against the claims booked, the error, and the share of months whose 90 % interval held the actual.
-- unit: claims
SELECT
    component,
    round(sum(expected_claims), 1) AS expected_claims,
    sum(actual_claims) AS actual_claims,
    round((sum(expected_claims) - sum(actual_claims)) / nullif(sum(actual_claims), 0), 4) AS error,
    round(avg(CASE WHEN actual_claims BETWEEN lower_90 AND upper_90 THEN 1.0 ELSE 0.0 END), 4) AS months_within_interval
FROM warranty_backtest_forecast_by_component
WHERE actual_claims IS NOT NULL
GROUP BY component
ORDER BY actual_claims DESC, component
