-- Every member of the platinum CLV segment has at least one revenue-bearing order:
-- the query returns the members that do not (zero rows passes).
select s.customer_id
from {{ ref('segment_clv_platinum') }} as s
join {{ ref('customer_features') }} as f using (customer_id)
where f.orders_total = 0
