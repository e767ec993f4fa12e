{{ config(materialized='table') }}

select
    email,
    count(*) as orders,
    round(sum(amount), 2) as revenue,
    max(order_date) as last_order_date,
    date_diff(date('{{ var("as_of") }}'), max(order_date), day) as days_since_last_order
from {{ ref('orders') }}
group by email
