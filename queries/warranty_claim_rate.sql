-- name: warranty_claim_rate
-- title: Warranty claim rate and cost per vehicle-year in service, by make, model and model year
-- title_zh: 按品牌、车型和年款的每百车年索赔率与每车年索赔成本
-- description: Claims with a failure date in [`start`, `end`) per 100 vehicle-years in service in that window, approved cost per vehicle-year, and the approval and rejection rates of the claims decided. A vehicle is in service from its first registration; the window ends at `end` or at the end of the data (the day after the last repair order opened), whichever is first, so a vehicle registered late in the window, or not yet, adds only the time it was on the road. Coverage-aware exposure (vehicles still under warranty at each month in service) is in `aftersight warranty triangle`.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: claims per 100 vehicle-years; CNY per vehicle-year
WITH window_end AS (
    SELECT least(CAST($end AS DATE), CAST(max(opened_at) AS DATE) + INTERVAL '1 day') AS day
    FROM repair_orders
),
in_service AS (
    -- Days each vehicle was in service within the window.
    SELECT v.make, v.model, v.model_year,
           (CAST(CAST(w.day AS TIMESTAMP) AS BIGINT)
            - CAST(CAST(greatest(v.first_registration_date, CAST($start AS DATE)) AS TIMESTAMP) AS BIGINT))
           / 86400000000000.0 AS days
    FROM vehicles v
    CROSS JOIN window_end w
    WHERE v.first_registration_date < w.day
),
fleet AS (
    SELECT make, model, model_year, count(*) AS vehicles_in_service, sum(days) / 365.25 AS vehicle_years
    FROM in_service
    WHERE days > 0
    GROUP BY 1, 2, 3
),
claims AS (
    SELECT v.make, v.model, v.model_year,
           count(*) AS claims,
           sum(CASE WHEN c.status = 'approved' THEN c.amount_cny ELSE 0 END) AS approved_cny,
           sum(CASE WHEN c.status = 'approved' THEN 1 ELSE 0 END) AS approved,
           sum(CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END) AS rejected
    FROM warranty_claims c
    JOIN vehicles v ON v.vin = c.vin
    WHERE c.failure_date >= $start AND c.failure_date < $end
    GROUP BY 1, 2, 3
)
SELECT
    f.make,
    f.model,
    f.model_year,
    f.vehicles_in_service,
    round(f.vehicle_years, 2) AS vehicle_years,
    coalesce(c.claims, 0) AS claims,
    round(100.0 * coalesce(c.claims, 0) / f.vehicle_years, 2) AS claims_per_100_vehicle_years,
    round(coalesce(c.approved_cny, 0) / f.vehicle_years, 2) AS approved_cost_per_vehicle_year,
    round(1.0 * c.approved / nullif(c.approved + c.rejected, 0), 4) AS approval_rate,
    round(1.0 * c.rejected / nullif(c.approved + c.rejected, 0), 4) AS rejection_rate
FROM fleet f
LEFT JOIN claims c ON c.make = f.make AND c.model = f.model AND c.model_year = f.model_year
ORDER BY claims_per_100_vehicle_years DESC, f.make, f.model, f.model_year
