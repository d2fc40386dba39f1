-- name: outlook_forecast
-- title: Claims forecast for the coming months, with a 90 % interval and the triangle's cross-check
-- title_zh: 未来数月索赔预测（90%区间，附三角形法交叉核对）
-- description: Expected warranty claims of the fleet under cover per month after the last day of data, from the fitted life laws (`expected_claims`, with its 90 % prediction interval), and from the months-in-service triangle's claims per vehicle-month (`triangle_claims`). Reads `warranty_forecast_by_month`, which the warranty stage publishes in `OUT/warranty/outlook/`.
-- unit: claims
SELECT
    month,
    round(expected_claims, 1) AS expected_claims,
    lower_90,
    upper_90,
    round(triangle_claims, 1) AS triangle_claims
FROM warranty_forecast_by_month
ORDER BY month
