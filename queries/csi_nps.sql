-- name: csi_nps
-- title: Customer satisfaction by factor and Net Promoter Score, by station
-- title_zh: 按服务站的客户满意度分项与净推荐值
-- description: Mean score of the five CSI factors (1-10), their overall mean, and NPS (percent promoters 9-10 minus percent detractors 0-6).
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: score
SELECT
    ro.station_id,
    s.grade,
    count(*) AS surveys,
    round(avg(sv.service_initiation), 2) AS service_initiation,
    round(avg(sv.service_advisor), 2) AS service_advisor,
    round(avg(sv.service_facility), 2) AS service_facility,
    round(avg(sv.vehicle_pickup), 2) AS vehicle_pickup,
    round(avg(sv.service_quality), 2) AS service_quality,
    -- The five scores summed as integers, then divided once: the same double in any row order.
    round(CAST(sum(sv.service_initiation + sv.service_advisor + sv.service_facility + sv.vehicle_pickup + sv.service_quality) AS DOUBLE) / (5.0 * count(sv.service_initiation + sv.service_advisor + sv.service_facility + sv.vehicle_pickup + sv.service_quality)), 2) AS csi,
    round(100.0 * (avg(CASE WHEN sv.recommend >= 9 THEN 1.0 ELSE 0.0 END) - avg(CASE WHEN sv.recommend <= 6 THEN 1.0 ELSE 0.0 END)), 1) AS nps
FROM surveys sv
JOIN repair_orders ro ON ro.ro_id = sv.ro_id
JOIN stations s ON s.station_id = ro.station_id
WHERE sv.survey_date >= $start AND sv.survey_date < $end
GROUP BY 1, 2
ORDER BY 1
