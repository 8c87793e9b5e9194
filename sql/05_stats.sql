-- Throughput and latency over the last 24 hours.
-- Pickup latency: from the session's insert to the worker's first "downloading" row.
select count(*) as sessions,
       percentile_cont(0.5) within group (order by pickup) as pickup_p50,
       percentile_cont(0.99) within group (order by pickup) as pickup_p99,
       percentile_cont(0.5) within group (order by total) as end_to_end_p50
  from (
    select s.id,
           min(e.at) filter (where e.stage = 'downloading') - s.created_at as pickup,
           max(e.at) filter (where e.stage = 'completed') - s.created_at as total
      from public.sessions s join public.processing_events e on e.session_id = s.id
     where s.created_at > now() - interval '24 hours'
     group by s.id, s.created_at
  ) t;

-- Outcomes per hour.
select date_trunc('hour', updated_at) as hour, status, count(*)
  from public.sessions
 where updated_at > now() - interval '24 hours'
 group by 1, 2 order by 1, 2;

-- Archive growth: pgmq keeps acknowledged messages in pgmq.a_session_processing. Trim it
-- (the session rows and processing_events keep the history).
-- delete from pgmq.a_session_processing where archived_at < now() - interval '30 days';
