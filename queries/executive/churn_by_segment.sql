-- name: churn_by_segment
-- title: Expected churners by customer segment
-- title_zh: 各客户群预计流失人数
-- description: Per segment of `aftersight predict segments`, named in English (`segment`) and Chinese (`segment_zh`), "–" for a customer without one: customers scored by the churn model, expected churners (the sum of their churn probabilities) and the mean probability, most expected churners first.
-- unit: customers
SELECT
    COALESCE(s.segment_name, '–') AS segment,
    COALESCE(s.segment_name_zh, '–') AS segment_zh,
    count(*) AS customers,
    sum(p.probability) AS expected_churners,
    avg(p.probability) AS mean_probability
FROM churn_predictions p
LEFT JOIN segments_predictions s ON s.customer_id = p.customer_id
GROUP BY 1, 2
ORDER BY expected_churners DESC, segment
