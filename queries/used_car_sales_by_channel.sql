-- name: used_car_sales_by_channel
-- title: Used-car sales by channel: volume, price, financing and warranty attach rates
-- title_zh: 按渠道的二手车销量、价格、金融渗透率与延保附加率
-- description: Sales per channel, mean price, and the shares financed, certified, and sold with an extended warranty.
-- param: start date 2000-01-01
-- param: end date 2100-01-01
-- unit: CNY
SELECT
    channel,
    count(*) AS sales,
    round(avg(price_cny), 2) AS avg_price_cny,
    round(avg(CASE WHEN financed THEN 1.0 ELSE 0.0 END), 4) AS financed_share,
    round(avg(CASE WHEN certified THEN 1.0 ELSE 0.0 END), 4) AS certified_share,
    round(avg(CASE WHEN extended_warranty_months > 0 THEN 1.0 ELSE 0.0 END), 4) AS extended_warranty_attach
FROM transactions
WHERE sale_date >= $start AND sale_date < $end
GROUP BY 1
ORDER BY 1
