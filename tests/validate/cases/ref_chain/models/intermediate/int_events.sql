select
    b.*,
    'usd' as currency
from {{ ref('stg_base') }} as b
