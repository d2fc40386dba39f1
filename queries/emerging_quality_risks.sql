-- name: emerging_quality_risks
-- title: Emerging quality risks: cohorts failing faster than their peers
-- title_zh: 新出现的质量风险：故障率高于同类车型的批次
-- description: Repairs and warranty jobs per component and make/model/model year in the window, against what the component's rate across all vehicles of the same model year (peers of the same age) would give for the cohort's vehicles. The excess is scored as a Poisson z (observed minus expected over the root of expected); cohorts with at least `min_repairs` repairs, worst first. `trend` compares the cohort's rate in the window with its own rate in the 12 months before. For exploration only: ranking thousands of cells by z without error control surfaces noise, so alarms come from `aftersight warranty alerts`.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- param: min_repairs int 3
-- param: top int 10
-- unit: repairs; ratio
WITH fleet AS (
    SELECT vin, make, model, model_year
    FROM vehicles
    WHERE first_registration_date < $end
),
cohorts AS (
    SELECT make, model, model_year, count(*) AS vehicles FROM fleet GROUP BY 1, 2, 3
),
jobs AS (
    SELECT f.make, f.model, f.model_year, ro.component,
           CASE WHEN ro.opened_at >= CAST($start AS TIMESTAMP) THEN 1 ELSE 0 END AS in_window
    FROM repair_orders ro
    JOIN fleet f ON f.vin = ro.vin
    WHERE ro.job_type IN ('repair', 'warranty') AND ro.component IS NOT NULL
      AND ro.opened_at < CAST($end AS TIMESTAMP)
      AND ro.opened_at >= CAST($start AS TIMESTAMP) - INTERVAL '12 months'
),
observed AS (
    SELECT make, model, model_year, component,
           sum(in_window) AS repairs,
           sum(1 - in_window) AS repairs_before
    FROM jobs GROUP BY 1, 2, 3, 4
),
year_fleet AS (
    SELECT model_year, sum(vehicles) AS vehicles FROM cohorts GROUP BY 1
),
-- The peer rate (repairs per vehicle of the model year, all makes) is a window
-- over the observed rows, so `observed` is computed once, not once per use.
scored AS (
    SELECT
        o.make, o.model, o.model_year, o.component, c.vehicles, o.repairs,
        CAST(sum(o.repairs) OVER (PARTITION BY o.model_year, o.component) AS DOUBLE) / y.vehicles
            * c.vehicles AS expected,
        o.repairs_before
    FROM observed o
    JOIN cohorts c ON c.make = o.make AND c.model = o.model AND c.model_year = o.model_year
    JOIN year_fleet y ON y.model_year = o.model_year
)
SELECT
    make, model, model_year, component, vehicles, repairs,
    round(expected, 2) AS expected,
    round(repairs / expected, 2) AS ratio,
    round((repairs - expected) / sqrt(expected), 2) AS z,
    round(
        (CAST(repairs AS DOUBLE) / ((CAST(CAST($end AS TIMESTAMP) AS BIGINT) - CAST(CAST($start AS TIMESTAMP) AS BIGINT)) / 86400000000000.0))
        / nullif(CAST(repairs_before AS DOUBLE) / 365.0, 0),
        2
    ) AS trend
FROM scored
WHERE repairs >= $min_repairs AND expected > 0
ORDER BY z DESC, make, model, model_year, component
LIMIT $top
