-- wrk script: the mixed load. Script arguments: a file of customer paths (/.../customer/{id}, one a line),
-- a file of filtered-page paths, a file holding the JSON body of a create, how many responses each thread
-- waits for before it stops (0: until the duration ends) and a path prefix: a stopped thread creates a
-- file named by it, so that bench/loadgen.py ends wrk then (wrk itself would sleep out its duration).
-- Each request is, at random, a read by id (60%), a filtered page (20%), a create (15%) or a merge patch
-- of a stored customer (5%). done() prints one machine-readable line (as get.lua).
local ids, pages = {}, {}
local create_path, create_body
local limit, sent = 0, 0
local marker

local function lines(name, into)
   for line in io.lines(name) do
      if #line > 0 then
         into[#into + 1] = line
      end
   end
end

function init(args)
   lines(args[1], ids)
   lines(args[2], pages)
   local file = assert(io.open(args[3], "rb"))
   create_body = file:read("*a")
   file:close()
   limit = tonumber(args[4] or "0")
   marker = args[5]
   create_path = ids[1]:match("^(.*)/[^/]+$")
   math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

local json = { ["Content-Type"] = "application/json" }
local merge = { ["Content-Type"] = "application/merge-patch+json" }

function request()
   local pick = math.random(100)
   if pick <= 60 then
      return wrk.format("GET", ids[math.random(#ids)])
   elseif pick <= 80 then
      return wrk.format("GET", pages[math.random(#pages)])
   elseif pick <= 95 then
      return wrk.format("POST", create_path, json, create_body)
   end
   local body = string.format('{"statusReason":"patched by the benchmark %d"}', math.random(1000000))
   return wrk.format("PATCH", ids[math.random(#ids)], merge, body)
end

function response(status, headers, body)
   if limit > 0 then
      sent = sent + 1
      if sent == limit then
         if marker then
            local file = io.open(marker .. tostring({}):match("0x(%x+)"), "w")
            if file then
               file:close()
            end
         end
         wrk.thread:stop()
      end
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
