-- name: outlook_triangle
-- title: Months-in-service triangle: factory claims per thousand vehicles at risk
-- title_zh: 使用月数三角形：每千辆在保车辆的原厂保修索赔数
-- description: The factory cover of every component but the traction battery, for the cohorts (month of first registration) of the last three years, by month in service up to 36: claims per thousand vehicles at risk, where vehicles at risk are the vehicle-months of cover in that month (a vehicle leaves by time or by mileage). Cells a cohort has not reached are absent. Reads `warranty_triangle`.
-- unit: claims per thousand vehicles at risk
WITH factory AS (
    SELECT * FROM warranty_triangle WHERE coverage = 'factory' AND scope = 'vehicle' AND mis <= 36
),
latest AS (
    -- Three years before the newest cohort, as `YYYY-MM`.
    SELECT CAST(CAST(substr(max(cohort), 1, 4) AS INT) - 3 AS VARCHAR) || substr(max(cohort), 5) AS first_cohort
    FROM factory
)
SELECT f.cohort, f.mis, round(f.claims_per_thousand, 2) AS claims_per_thousand,
       round(f.vehicles_at_risk, 1) AS vehicles_at_risk, f.claims
FROM factory f
CROSS JOIN latest l
WHERE f.cohort > l.first_cohort
ORDER BY f.cohort, f.mis
