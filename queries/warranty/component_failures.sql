-- name: component_failures
-- title: Component failures by cohort, calendar month and month in service
-- title_zh: 按车型批次、日历月和使用月数统计的零部件故障
-- description: Vehicles with a repair or warranty job (recalls, maintenance and insurance excluded) on a component, per make, model, model year, powertrain and component, by the calendar month the job opened and the vehicle's month in service then (0 in the month of first registration), up to the end of `as_of`. A vehicle counts once a month, so a comeback for the same fault is not a second failure.
-- param: as_of date 2100-01-01
-- unit: repairs
WITH jobs AS (
    SELECT
        ro.vin,
        v.make,
        v.model,
        v.model_year,
        v.powertrain,
        ro.component,
        CAST(date_part('year', ro.opened_at) * 12 + date_part('month', ro.opened_at) - 1 AS BIGINT) AS month,
        CAST(date_part('year', v.first_registration_date) * 12 + date_part('month', v.first_registration_date) - 1 AS BIGINT) AS registered_month
    FROM repair_orders ro
    JOIN vehicles v ON v.vin = ro.vin
    WHERE ro.job_type IN ('repair', 'warranty')
      AND ro.component IS NOT NULL
      AND ro.opened_at < CAST($as_of AS TIMESTAMP) + INTERVAL '1 day'
)
SELECT
    make,
    model,
    model_year,
    powertrain,
    component,
    month,
    month - registered_month AS months_in_service,
    count(DISTINCT vin) AS failures
FROM jobs
WHERE month >= registered_month
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 3, 4, 5, 6, 7
