-- name: used_car_price_by_age_mileage
-- title: Used-car prices by vehicle age and mileage
-- title_zh: 按车龄和里程的二手车成交价
-- description: Sales and mean price by whole years since first registration and by 20,000 km odometer band (its lower bound) at sale.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: CNY
SELECT
    CAST(floor((CAST(t.sale_date AS INT) - CAST(v.first_registration_date AS INT)) / 365.25) AS INT) AS age_years,
    CAST(floor(t.odometer_km / 20000.0) * 20000 AS BIGINT) AS mileage_band_km,
    count(*) AS sales,
    round(avg(t.price_cny), 2) AS avg_price_cny
FROM transactions t
JOIN vehicles v ON v.vin = t.vin
WHERE t.sale_date >= $start AND t.sale_date < $end
GROUP BY 1, 2
ORDER BY 1, 2
