-- name: outlook_parts
-- title: Parts to stock next month: the stations and components with the most expected repairs
-- title_zh: 下月备件：预计维修最多的服务站与零部件
-- description: For the first month after the last day of data, the repair orders each station can expect per component (each vehicle counted at the station it visits most) and the stock that meets demand with 95 % probability (the Poisson quantile), the 20 largest. Reads `warranty_parts`.
-- unit: repair orders; parts
SELECT station_id, component, round(expected_orders, 2) AS expected_orders, stock_95
FROM warranty_parts
WHERE month = (SELECT min(month) FROM warranty_parts)
ORDER BY expected_orders DESC, station_id, component
LIMIT 20
