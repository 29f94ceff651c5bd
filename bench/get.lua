-- wrk script: GET the request paths listed one per line in the file named by the first script
-- argument, in turn (each thread starts at its own offset). done() prints one machine-readable line.
local paths = {}
local counter = 0

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         paths[#paths + 1] = line
      end
   end
   counter = math.random(#paths)
end

function request()
   counter = counter % #paths + 1
   return wrk.format("GET", paths[counter])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
