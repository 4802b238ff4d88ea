-- wrk script for `cargo xtask bench booking`, step (c): POST /api/v1/bookings, every request
-- for a DIFFERENT free slot of bench/booking-capacity.toml (10-minute slots, round the clock,
-- one location, time zone UTC).
--
--   wrk -t2 -c32 -d10s --latency -s bench/book.lua http://127.0.0.1:PORT/api/v1/bookings \
--       -- THREADS BASE_EPOCH SLOTS_PER_DAY
--
-- THREADS must equal wrk's -t (default 2). BASE_EPOCH is the first start in seconds since the
-- epoch (default: tomorrow 00:00Z). SLOTS_PER_DAY is how many 10-minute starts each UTC day
-- offers (default 144).
--
-- Request n (n = counter * THREADS + thread id: per-thread counters, interleaved, so no two
-- requests of the run share a start) asks for the n-th slot from BASE_EPOCH. The practice
-- opens 00:00-24:00, so each day has 144 starts, 00:00 to 23:50 (the last one ends exactly
-- at midnight).
--
-- `response` counts statuses per thread; `done` adds them up and prints one line that the
-- xtask reads:
--   book.lua: created=N other=M duration_us=D statuses=201:N,409:K first_error=STATUS BODY

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   nthreads = tonumber(args[1]) or 2
   local now = os.time()
   base = tonumber(args[2]) or (now - now % 86400 + 86400)
   per_day = tonumber(args[3]) or 144
   counter = 0
   created = 0
   other = 0
   statuses = {}
   first_error = ""
   headers = { ["Content-Type"] = "application/json" }
end

function request()
   local n = counter * nthreads + id
   counter = counter + 1
   local t = base + math.floor(n / per_day) * 86400 + (n % per_day) * 600
   local start = os.date("!%Y-%m-%dT%H:%M:%SZ", t)
   local body = string.format(
      '{"type":"consultation","location":"online","start":"%s",' ..
      '"name":"Bench Visitor","email":"bench-%d@example.com","consent":true}',
      start, n)
   return wrk.format("POST", wrk.path, headers, body)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   else
      other = other + 1
      if first_error == "" then
         first_error = status .. " " .. string.sub(body or "", 1, 300)
      end
   end
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
   local total_created, total_other, by_status, first = 0, 0, {}, ""
   for _, thread in ipairs(threads) do
      total_created = total_created + (thread:get("created") or 0)
      total_other = total_other + (thread:get("other") or 0)
      for status, count in pairs(thread:get("statuses") or {}) do
         by_status[status] = (by_status[status] or 0) + count
      end
      local e = thread:get("first_error") or ""
      if first == "" then
         first = e
      end
   end
   local parts = {}
   for status, count in pairs(by_status) do
      table.insert(parts, status .. ":" .. count)
   end
   table.sort(parts)
   print(string.format("book.lua: created=%d other=%d duration_us=%d statuses=%s first_error=%s",
      total_created, total_other, summary.duration, table.concat(parts, ","),
      (string.gsub(first, "\n", " "))))
end
