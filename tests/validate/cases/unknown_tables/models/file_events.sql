select 'Purchase' as event, id as event_id, ts as event_time, email
from read_csv('exports/events.csv')
