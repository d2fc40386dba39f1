-- name: oracle_vehicles
-- title: Vehicles as the failure model's oracle reads them (not features)
-- title_zh: 故障模型理论上限所需的车辆信息（非特征）
-- description: Make, model, model year and powertrain of every vehicle in service on `cutoff`, and its owner that day (the last buyer up to it, else the original owner). With the generator's truth, the oracle looks up the planted law in force and whether the owner defected (a defected owner's repairs happen outside the network and are never seen).
-- param: cutoff date 2026-07-31
-- unit: one row per vehicle
WITH latest_sale AS (
    SELECT vin, buyer_id
    FROM (
        SELECT vin, buyer_id,
               row_number() OVER (PARTITION BY vin ORDER BY sale_date DESC, transaction_id DESC) AS nth
        FROM transactions
        WHERE sale_date <= $cutoff
    ) sales
    WHERE nth = 1
)
SELECT
    v.vin,
    v.make,
    v.model,
    v.model_year,
    v.powertrain,
    coalesce(ls.buyer_id, v.original_owner_id) AS owner_id
FROM vehicles v
LEFT JOIN latest_sale ls ON ls.vin = v.vin
WHERE v.first_registration_date <= $cutoff
ORDER BY v.vin
