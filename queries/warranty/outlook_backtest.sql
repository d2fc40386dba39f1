-- name: outlook_backtest
-- title: Backtest: the forecast made six months ago against the claims booked since
-- title_zh: 回测：六个月前的预测与此后实际索赔
-- description: The forecast the warranty stage made as of the end of the month six months before the last (`warranty_backtest_forecast_by_month`, in `OUT/warranty/backtest/`) against the claims the fleet of that day booked in each month since, with the error and whether the 90 % interval held the actual.
-- unit: claims
SELECT
    month,
    round(expected_claims, 1) AS expected_claims,
    lower_90,
    upper_90,
    actual_claims,
    round((expected_claims - actual_claims) / nullif(actual_claims, 0), 4) AS error,
    actual_claims BETWEEN lower_90 AND upper_90 AS within_interval
FROM warranty_backtest_forecast_by_month
WHERE actual_claims IS NOT NULL
ORDER BY month
