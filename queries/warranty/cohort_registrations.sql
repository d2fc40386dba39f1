-- name: cohort_registrations
-- title: Vehicles entering service, by cohort and month
-- title_zh: 按车型批次和月份统计的投入使用车辆数
-- description: Vehicles per make, model, model year and powertrain by the month of their first registration, up to `as_of`. The emerging-issue monitor turns these into vehicle-months at risk at each month in service.
-- param: as_of date 2100-01-01
-- unit: vehicles
SELECT
    make,
    model,
    model_year,
    powertrain,
    CAST(date_part('year', first_registration_date) * 12 + date_part('month', first_registration_date) - 1 AS BIGINT) AS registered_month,
    count(*) AS vehicles
FROM vehicles
WHERE first_registration_date <= $as_of
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
