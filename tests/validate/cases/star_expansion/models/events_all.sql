-- landing_url is not a TikTok parameter: reported on the staging model's line.
select * from {{ ref('stg_events') }}
