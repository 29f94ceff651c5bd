-- wrk script: POST one JSON body to the URL. The body is read from the file named by the first script
-- argument (bench/run.py writes a valid customer there, or a GraphQL request); without one, a valid
-- TMF629 customer. done() prints one machine-readable line.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench Customer","status":"Approved","engagedParty":{"id":"party-000",' ..
   '"@referredType":"Organization"},"contactMedium":[{"mediumType":"email","characteristic":' ..
   '{"emailAddress":"bench@example.org"}}]}'

function init(args)
   if args[1] then
      local file = assert(io.open(args[1], "rb"))
      wrk.body = file:read("*a")
      file:close()
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
