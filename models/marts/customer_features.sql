{{ config(
    materialized='table',
    cluster_by=['customer_id'],
    tags=['features']
) }}

{%- set as_of = "date('" ~ var('as_of') ~ "')" %}

-- One row per customer as of {{ var('as_of') }}: orders, revenue, recency,
-- recent activity, first-touch channel, RFM quintiles and a CLV tier.
with orders as (
    select
        customer_id,
        count(*) as orders_total,
        round(sum(revenue), 2) as revenue_total,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        countif(order_date > date_sub({{ as_of }}, interval 30 day)) as orders_30d
    from {{ ref('transactions') }}
    where is_revenue
        and customer_id is not null
        and order_date <= {{ as_of }}
    group by customer_id
),

session_activity as (
    select
        customer_id,
        {{ count_in_window('session_date', as_of, 0, 30) }} as sessions_30d,
        {{ count_in_window('session_date', as_of, 30, 60) }} as sessions_prev_30d,
        sum(if(session_date > date_sub({{ as_of }}, interval 7 day) and session_date <= {{ as_of }}, pricing_page_views, 0)) as pricing_views_7d,
        max(started_at) as last_session_at
    from {{ ref('sessions') }}
    -- Only the 60 days the windows need: a daily rebuild reads two months of
    -- sessions, not all history (partitions of other days are skipped).
    where customer_id is not null
        and session_date > date_sub({{ as_of }}, interval 60 day)
        and session_date <= {{ as_of }}
    group by customer_id
),

touches as (
    select
        customer_id,
        countif(event = 'email_open' and touch_date > date_sub({{ as_of }}, interval 30 day)) as email_opens_30d,
        array_agg(channel order by touched_at, touch_id limit 1)[offset(0)] as first_touch_channel
    from {{ ref('campaign_touches') }}
    where touch_date <= {{ as_of }}
    group by customer_id
),

base as (
    select
        c.customer_id,
        c.email,
        c.phone,
        c.first_name,
        c.last_name,
        c.country,
        c.zip,
        c.consent_ad_user_data,
        c.consent_ad_personalization,
        coalesce(o.orders_total, 0) as orders_total,
        coalesce(o.orders_30d, 0) as orders_30d,
        coalesce(o.revenue_total, 0) as revenue_total,
        o.first_order_at,
        o.last_order_at,
        date(o.last_order_at) as last_order_date,
        date_diff({{ as_of }}, date(o.last_order_at), day) as days_since_last_order,
        coalesce(s.sessions_30d, 0) as sessions_30d,
        coalesce(s.sessions_prev_30d, 0) as sessions_prev_30d,
        coalesce(s.pricing_views_7d, 0) as pricing_views_7d,
        s.last_session_at,
        coalesce(t.email_opens_30d, 0) as email_opens_30d,
        t.first_touch_channel,
        -- Annualized revenue run rate since the first order (at least 30 days of tenure).
        round(safe_divide(o.revenue_total, greatest(date_diff({{ as_of }}, date(o.first_order_at), day), 30)) * 365, 2) as predicted_clv
    from {{ ref('customers') }} as c
    left join orders as o on o.customer_id = c.customer_id
    left join session_activity as s on s.customer_id = c.customer_id
    left join touches as t on t.customer_id = c.customer_id
),

buyer_scores as (
    -- Quintiles among buyers; 5 is best. Ties broken by customer_id so every engine agrees.
    select
        customer_id,
        ntile(5) over (order by days_since_last_order desc, customer_id) as r_score,
        ntile(5) over (order by orders_total, customer_id) as f_score,
        ntile(5) over (order by revenue_total, customer_id) as m_score,
        ntile(10) over (order by predicted_clv, customer_id) as clv_decile
    from base
    where orders_total > 0
)

select
    base.*,
    coalesce(b.r_score, 0) as r_score,
    coalesce(b.f_score, 0) as f_score,
    coalesce(b.m_score, 0) as m_score,
    case
        when b.clv_decile = 10 then 'platinum'
        when b.clv_decile >= 8 then 'gold'
        when b.clv_decile >= 1 then 'silver'
        else 'prospect'
    end as clv_tier
from base
left join buyer_scores as b on b.customer_id = base.customer_id
