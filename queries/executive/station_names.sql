-- name: station_names
-- title: Station names, to label the scorecard
-- title_zh: 服务站名称（用于评分卡标注）
-- description: Each station's id and name; the executive summary shows the scorecard as "name (id)".
SELECT station_id, name
FROM stations
ORDER BY station_id
