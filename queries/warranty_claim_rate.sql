-- name: warranty_claim_rate
-- title: Warranty claim rate and cost per unit, by make, model and model year
-- title_zh: 按品牌、车型和年款的索赔率与单车索赔成本
-- description: Claims per 100 vehicles in the fleet, approved cost per vehicle, and the approval and rejection rates of the claims decided.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: claims per 100 vehicles; CNY per vehicle
WITH fleet AS (
    SELECT make, model, model_year, count(*) AS vehicles
    FROM vehicles
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
    f.vehicles,
    coalesce(c.claims, 0) AS claims,
    round(100.0 * coalesce(c.claims, 0) / f.vehicles, 2) AS claims_per_100_vehicles,
    round(coalesce(c.approved_cny, 0) / f.vehicles, 2) AS approved_cost_per_vehicle,
    round(1.0 * c.approved / nullif(c.approved + c.rejected, 0), 4) AS approval_rate,
    round(1.0 * c.rejected / nullif(c.approved + c.rejected, 0), 4) AS rejection_rate
FROM fleet f
LEFT JOIN claims c ON c.make = f.make AND c.model = f.model AND c.model_year = f.model_year
ORDER BY claims_per_100_vehicles DESC, f.make, f.model, f.model_year
