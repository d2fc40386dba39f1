-- name: station_scorecard
-- title: Station scorecard: quality, satisfaction and punctuality graded AAA / AA / A
-- title_zh: 服务站评分卡：质量、满意度与准时交车综合评级
-- description: Score = 40 × (1 − comeback rate, as in `comeback_rate`) + 40 × CSI / 10 + 20 × on-time share (promises as in `turnaround`); a station without surveys counts CSI 5. AAA from 85, AA from 75, otherwise A. Compared with the station's current grade.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: points (0-100)
WITH window_orders AS (
    SELECT *
    FROM repair_orders
    WHERE opened_at >= CAST($start AS TIMESTAMP) AND opened_at < CAST($end AS TIMESTAMP)
),
repairs AS (
    SELECT ro_id, vin, component, station_id, opened_at, closed_at
    FROM repair_orders
    WHERE job_type IN ('repair', 'warranty')
),
comebacks AS (
    SELECT r.station_id, max(CASE WHEN later.ro_id IS NULL THEN 0 ELSE 1 END) AS came_back
    FROM repairs r
    LEFT JOIN repairs later
        ON later.vin = r.vin
       AND later.component = r.component
       AND later.ro_id <> r.ro_id
       AND later.opened_at >= r.closed_at
       AND later.opened_at <= r.closed_at + INTERVAL '30 days'
    WHERE r.opened_at >= CAST($start AS TIMESTAMP) AND r.opened_at < CAST($end AS TIMESTAMP)
    GROUP BY r.ro_id, r.station_id
),
quality AS (
    SELECT station_id, avg(came_back) AS comeback_rate FROM comebacks GROUP BY 1
),
punctuality AS (
    SELECT
        station_id,
        avg(CASE
            WHEN (CAST(closed_at AS BIGINT) - CAST(opened_at AS BIGINT)) / 3600000000.0
                 <= CASE job_type WHEN 'maintenance' THEN 4 WHEN 'recall' THEN 4 WHEN 'repair' THEN 24 WHEN 'warranty' THEN 24 ELSE 72 END
            THEN 1.0 ELSE 0.0 END) AS on_time_share
    FROM window_orders
    GROUP BY 1
),
satisfaction AS (
    SELECT w.station_id,
           CAST(sum(sv.service_initiation + sv.service_advisor + sv.service_facility + sv.vehicle_pickup + sv.service_quality) AS DOUBLE) / (5.0 * count(sv.service_initiation + sv.service_advisor + sv.service_facility + sv.vehicle_pickup + sv.service_quality)) AS csi
    FROM surveys sv
    JOIN window_orders w ON w.ro_id = sv.ro_id
    GROUP BY 1
),
scored AS (
    SELECT
        s.station_id,
        s.grade AS current_grade,
        coalesce(q.comeback_rate, 0) AS comeback_rate,
        sat.csi,
        p.on_time_share,
        40 * (1 - coalesce(q.comeback_rate, 0)) + 40 * coalesce(sat.csi, 5) / 10 + 20 * p.on_time_share AS score
    FROM stations s
    JOIN punctuality p ON p.station_id = s.station_id
    LEFT JOIN quality q ON q.station_id = s.station_id
    LEFT JOIN satisfaction sat ON sat.station_id = s.station_id
)
SELECT
    station_id,
    current_grade,
    round(comeback_rate, 4) AS comeback_rate,
    round(csi, 2) AS csi,
    round(on_time_share, 4) AS on_time_share,
    round(score, 1) AS score,
    CASE WHEN score >= 85 THEN 'AAA' WHEN score >= 75 THEN 'AA' ELSE 'A' END AS scored_grade
FROM scored
ORDER BY score DESC, station_id
