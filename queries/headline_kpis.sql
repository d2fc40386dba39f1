-- name: headline_kpis
-- title: Headline KPIs of the after-sales network
-- title_zh: 售后网络核心指标
-- description: One row per headline KPI for the period, the shape KPI tiles and the executive summary read: value, unit (`%` marks a share, `pt` a score whose change is read in points), and whether up is good. Repair orders, revenue, effective labour rate, comeback rate, on-time completion, warranty claims, CSI, NPS and used-car sales, with the same definitions as the per-station queries.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: mixed, see the unit column
WITH orders AS (
    SELECT *
    FROM repair_orders
    WHERE opened_at >= CAST($start AS TIMESTAMP) AND opened_at < CAST($end AS TIMESTAMP)
),
repairs AS (
    SELECT ro_id, vin, component, opened_at, closed_at
    FROM repair_orders
    WHERE job_type IN ('repair', 'warranty')
),
comebacks AS (
    SELECT r.ro_id, max(CASE WHEN later.ro_id IS NULL THEN 0.0 ELSE 1.0 END) AS came_back
    FROM repairs r
    LEFT JOIN repairs later
        ON later.vin = r.vin
       AND later.component = r.component
       AND later.ro_id <> r.ro_id
       AND later.opened_at >= r.closed_at
       AND later.opened_at <= r.closed_at + INTERVAL '30 days'
    WHERE r.opened_at >= CAST($start AS TIMESTAMP) AND r.opened_at < CAST($end AS TIMESTAMP)
    GROUP BY r.ro_id
),
timing AS (
    SELECT
        (CAST(closed_at AS BIGINT) - CAST(opened_at AS BIGINT)) / 3600000000.0 AS hours,
        CASE job_type
            WHEN 'maintenance' THEN 4
            WHEN 'recall' THEN 4
            WHEN 'repair' THEN 24
            WHEN 'warranty' THEN 24
            ELSE 72
        END AS promised_hours
    FROM orders
),
scores AS (
    SELECT
        service_initiation + service_advisor + service_facility + vehicle_pickup + service_quality AS points,
        recommend
    FROM surveys
    WHERE survey_date >= $start AND survey_date < $end
)
SELECT 1 AS position, 'repair_orders' AS kpi, 'Repair orders' AS label, '维修工单' AS label_zh,
       CAST(count(*) AS DOUBLE) AS value, '' AS unit, 'up' AS better
FROM orders
UNION ALL
SELECT 2, 'revenue_cny', 'Workshop revenue', '维修产值', round(sum(labour_cny + parts_cny), 2), 'CNY', 'up'
FROM orders
UNION ALL
SELECT 3, 'effective_labour_rate', 'Effective labour rate', '有效工时单价',
       round(sum(labour_cny) / nullif(sum(labour_hours), 0), 2), 'CNY/h', 'up'
FROM orders WHERE job_type IN ('maintenance', 'repair')
UNION ALL
SELECT 4, 'comeback_rate', 'Comeback rate (30 days)', '30天返修率', round(avg(came_back), 4), '%', 'down'
FROM comebacks
UNION ALL
SELECT 5, 'on_time_share', 'Finished on time', '按时交车率',
       round(avg(CASE WHEN hours <= promised_hours THEN 1.0 ELSE 0.0 END), 4), '%', 'up'
FROM timing
UNION ALL
SELECT 6, 'warranty_claims', 'Warranty claims', '保修索赔', CAST(count(*) AS DOUBLE), '', 'down'
FROM warranty_claims WHERE failure_date >= $start AND failure_date < $end
UNION ALL
SELECT 7, 'csi', 'Satisfaction (CSI, 1-10)', '客户满意度（CSI）', round(CAST(sum(points) AS DOUBLE) / (5.0 * count(points)), 2), '', 'up'
FROM scores
UNION ALL
SELECT 8, 'nps', 'Net promoter score', '净推荐值（NPS）',
       round(100.0 * (avg(CASE WHEN recommend >= 9 THEN 1.0 ELSE 0.0 END) - avg(CASE WHEN recommend <= 6 THEN 1.0 ELSE 0.0 END)), 1),
       'pt', 'up'
FROM scores
UNION ALL
SELECT 9, 'used_car_sales', 'Used-car sales', '二手车销量', CAST(count(*) AS DOUBLE), '', 'up'
FROM transactions WHERE sale_date >= $start AND sale_date < $end
ORDER BY position
