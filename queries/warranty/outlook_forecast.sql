-- name: outlook_forecast
-- title: Claims: the last twelve months and the forecast, with a 90 % interval and the triangle's cross-check
-- title_zh: 索赔：近十二个月实际与未来预测（90%区间，附三角形法交叉核对）
-- description: Warranty claims booked per month over the twelve months up to the last day of data (`actual_claims`, every claim by its failure date), then the expected claims of the fleet under cover per month after it, from the fitted life laws (`expected_claims`, with its 90 % prediction interval) and from the months-in-service triangle's claims per vehicle-month (`triangle_claims`). Reads `warranty_forecast_by_month`, which the warranty stage publishes in `OUT/warranty/outlook/`.
-- unit: claims
WITH forecast AS (
    SELECT month, expected_claims, lower_90, upper_90, triangle_claims FROM warranty_forecast_by_month
),
history AS (
    SELECT to_char(failure_date, '%Y-%m') AS month, count(*) AS actual_claims
    FROM warranty_claims
    GROUP BY 1
),
recent AS (
    SELECT h.month, h.actual_claims
    FROM history h
    WHERE h.month < (SELECT min(month) FROM forecast)
    ORDER BY h.month DESC
    LIMIT 12
)
SELECT month, actual_claims, CAST(NULL AS DOUBLE) AS expected_claims, CAST(NULL AS BIGINT) AS lower_90,
       CAST(NULL AS BIGINT) AS upper_90, CAST(NULL AS DOUBLE) AS triangle_claims
FROM recent
UNION ALL
SELECT month, CAST(NULL AS BIGINT), round(expected_claims, 1), lower_90, upper_90, round(triangle_claims, 1)
FROM forecast
ORDER BY month
