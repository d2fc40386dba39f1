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
-- Every measure is computed in one pass over its table, then the KPI list
-- (a VALUES table) picks its value from that single row: a CTE used in several
-- UNION branches would be computed once per branch.
order_measures AS (
    SELECT
        CAST(count(*) AS DOUBLE) AS repair_orders,
        round(sum(labour_cny + parts_cny), 2) AS revenue_cny,
        round(
            sum(labour_cny) FILTER (WHERE job_type IN ('maintenance', 'repair'))
                / nullif(sum(labour_hours) FILTER (WHERE job_type IN ('maintenance', 'repair')), 0),
            2
        ) AS effective_labour_rate,
        round(avg(CASE
            WHEN (CAST(closed_at AS BIGINT) - CAST(opened_at AS BIGINT)) / 3600000000.0
                 <= CASE job_type WHEN 'maintenance' THEN 4 WHEN 'recall' THEN 4 WHEN 'repair' THEN 24 WHEN 'warranty' THEN 24 ELSE 72 END
            THEN 1.0 ELSE 0.0 END), 4) AS on_time_share
    FROM orders
),
comeback_measures AS (
    SELECT round(avg(came_back), 4) AS comeback_rate FROM comebacks
),
claim_measures AS (
    SELECT CAST(count(*) AS DOUBLE) AS warranty_claims
    FROM warranty_claims WHERE failure_date >= $start AND failure_date < $end
),
survey_measures AS (
    SELECT
        round(CAST(sum(points) AS DOUBLE) / (5.0 * count(points)), 2) AS csi,
        round(100.0 * (avg(CASE WHEN recommend >= 9 THEN 1.0 ELSE 0.0 END) - avg(CASE WHEN recommend <= 6 THEN 1.0 ELSE 0.0 END)), 1) AS nps
    FROM (
        SELECT
            service_initiation + service_advisor + service_facility + vehicle_pickup + service_quality AS points,
            recommend
        FROM surveys
        WHERE survey_date >= $start AND survey_date < $end
    ) scores
),
sale_measures AS (
    SELECT CAST(count(*) AS DOUBLE) AS used_car_sales
    FROM transactions WHERE sale_date >= $start AND sale_date < $end
)
SELECT
    k.position,
    k.kpi,
    k.label,
    k.label_zh,
    CASE k.kpi
        WHEN 'repair_orders' THEN o.repair_orders
        WHEN 'revenue_cny' THEN o.revenue_cny
        WHEN 'effective_labour_rate' THEN o.effective_labour_rate
        WHEN 'comeback_rate' THEN c.comeback_rate
        WHEN 'on_time_share' THEN o.on_time_share
        WHEN 'warranty_claims' THEN w.warranty_claims
        WHEN 'csi' THEN s.csi
        WHEN 'nps' THEN s.nps
        WHEN 'used_car_sales' THEN t.used_car_sales
    END AS value,
    k.unit,
    k.better
FROM (VALUES
    (1, 'repair_orders', 'Repair orders', '维修工单', '', 'up'),
    (2, 'revenue_cny', 'Workshop revenue', '维修产值', 'CNY', 'up'),
    (3, 'effective_labour_rate', 'Effective labour rate', '有效工时单价', 'CNY/h', 'up'),
    (4, 'comeback_rate', 'Comeback rate (30 days)', '30天返修率', '%', 'down'),
    (5, 'on_time_share', 'Finished on time', '按时交车率', '%', 'up'),
    (6, 'warranty_claims', 'Warranty claims', '保修索赔', '', 'down'),
    (7, 'csi', 'Satisfaction (CSI, 1-10)', '客户满意度（CSI）', '', 'up'),
    (8, 'nps', 'Net promoter score', '净推荐值（NPS）', 'pt', 'up'),
    (9, 'used_car_sales', 'Used-car sales', '二手车销量', '', 'up')
) AS k(position, kpi, label, label_zh, unit, better)
CROSS JOIN order_measures o
CROSS JOIN comeback_measures c
CROSS JOIN claim_measures w
CROSS JOIN survey_measures s
CROSS JOIN sale_measures t
ORDER BY k.position
