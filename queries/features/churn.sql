-- name: churn
-- title: Churn features: one row per customer active in the window before the cutoff
-- title_zh: 流失模型特征：截止日前窗口内有进站记录的客户，每人一行
-- description: Every feature uses only rows dated on or before `cutoff`; `label` is true when the customer makes no visit from the day after the cutoff through `horizon_end`. Text columns are identifiers, `label` is the target, every other column is a numeric feature.
-- param: cutoff date 2025-10-31
-- param: window_start date 2023-11-01
-- param: horizon_end date 2026-10-31
-- unit: one row per customer
WITH history AS (
    SELECT
        ro.*,
        (CAST(CAST(closed_at AS TIMESTAMP) AS BIGINT) - CAST(CAST(opened_at AS TIMESTAMP) AS BIGINT)) / 3600000000000.0 AS hours
    FROM repair_orders ro
    WHERE opened_at < CAST($cutoff AS TIMESTAMP) + INTERVAL '1 day'
),
station_rates AS (
    SELECT station_id, sum(labour_cny) / sum(labour_hours) AS labour_rate
    FROM history
    WHERE labour_hours > 0
    GROUP BY station_id
),
flagged AS (
    SELECT
        h.*,
        CASE
            WHEN h.job_type IN ('repair', 'warranty')
                AND lag(h.opened_at) OVER (PARTITION BY h.vin, h.component ORDER BY h.opened_at)
                    >= h.opened_at - INTERVAL '30 days'
            THEN 1.0 ELSE 0.0
        END AS comeback,
        CASE
            WHEN h.job_type IN ('maintenance', 'recall') AND h.hours > 6 THEN 1.0
            -- A repair usually takes twice its labour hours plus two, and about 36 h more when parts
            -- had to be ordered (the likely case when it took over a day). Long is over twice that.
            WHEN h.job_type IN ('repair', 'warranty')
                AND h.hours > 2 * (2 * h.labour_hours + 2 + CASE WHEN h.hours > 24 THEN 36 ELSE 0 END) THEN 1.0
            ELSE 0.0
        END AS long_turnaround,
        s.labour_rate
    FROM history h
    LEFT JOIN station_rates s ON s.station_id = h.station_id
),
recent AS (
    SELECT * FROM flagged WHERE opened_at >= CAST($window_start AS TIMESTAMP)
),
csi AS (
    SELECT
        r.customer_id,
        CAST(sum(sv.service_initiation + sv.service_advisor + sv.service_facility + sv.vehicle_pickup + sv.service_quality) AS DOUBLE) / (5.0 * count(sv.service_initiation + sv.service_advisor + sv.service_facility + sv.vehicle_pickup + sv.service_quality)) AS csi_mean
    FROM recent r
    JOIN surveys sv ON sv.ro_id = r.ro_id
    WHERE sv.survey_date <= $cutoff
    GROUP BY r.customer_id
),
latest_sale AS (
    SELECT vin, buyer_id
    FROM (
        SELECT vin, buyer_id,
               row_number() OVER (PARTITION BY vin ORDER BY sale_date DESC, transaction_id DESC) AS nth
        FROM transactions
        WHERE sale_date <= $cutoff
    ) sales
    WHERE nth = 1
),
owned AS (
    SELECT
        coalesce(ls.buyer_id, v.original_owner_id) AS customer_id,
        count(*) AS vehicles_owned,
        avg(CAST(CAST($cutoff AS TIMESTAMP) AS BIGINT) - CAST(CAST(v.first_registration_date AS TIMESTAMP) AS BIGINT))
            / (86400000000000.0 * 365.25) AS vehicle_age_years
    FROM vehicles v
    LEFT JOIN latest_sale ls ON ls.vin = v.vin
    WHERE v.first_registration_date <= $cutoff
    GROUP BY 1
),
visits AS (
    SELECT
        customer_id,
        count(*) AS visits,
        max(opened_at) AS last_visit,
        sum(labour_cny + parts_cny) AS spend_cny,
        sum(comeback) AS comebacks,
        avg(long_turnaround) AS long_turnaround_share,
        avg(hours) AS mean_turnaround_hours,
        avg(labour_rate) / 150.0 - 1.0 AS price_index
    FROM recent
    GROUP BY customer_id
),
returned AS (
    SELECT DISTINCT customer_id
    FROM repair_orders
    WHERE opened_at >= CAST($cutoff AS TIMESTAMP) + INTERVAL '1 day'
      AND opened_at < CAST($horizon_end AS TIMESTAMP) + INTERVAL '1 day'
)
SELECT
    v.customer_id,
    r.customer_id IS NULL AS label,
    (CAST(CAST($cutoff AS TIMESTAMP) + INTERVAL '1 day' AS BIGINT) - CAST(CAST(v.last_visit AS TIMESTAMP) AS BIGINT)) / 86400000000000.0 AS recency_days,
    CAST(v.visits AS DOUBLE) AS visits,
    CAST(least(v.visits, 8) AS DOUBLE) AS visits_capped,
    ln(1.0 + v.spend_cny) AS log_spend,
    v.comebacks,
    v.long_turnaround_share,
    v.mean_turnaround_hours,
    CASE WHEN c.csi_mean IS NULL THEN 0.0 ELSE greatest(0.0, 8.0 - c.csi_mean) END AS csi_shortfall,
    CASE WHEN c.csi_mean IS NULL THEN 0.0 ELSE 1.0 END AS answered_survey,
    coalesce(v.price_index, 0.0) AS price_index,
    CASE WHEN cu.preferred_channel = 'online' THEN 1.0 ELSE 0.0 END AS online_channel,
    CASE WHEN cu.preferred_channel = 'o2o' THEN 1.0 ELSE 0.0 END AS o2o_channel,
    CAST(coalesce(o.vehicles_owned, 0) AS DOUBLE) AS vehicles_owned,
    coalesce(o.vehicle_age_years, 0.0) AS vehicle_age_years
FROM visits v
JOIN customers cu ON cu.customer_id = v.customer_id
LEFT JOIN csi c ON c.customer_id = v.customer_id
LEFT JOIN owned o ON o.customer_id = v.customer_id
LEFT JOIN returned r ON r.customer_id = v.customer_id
ORDER BY v.customer_id
