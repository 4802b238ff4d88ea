-- wrk script for `cargo xtask bench overload`: ten times the site benchmark's connections,
-- each request one of a mix (the home page, an article, free times from the API, a booking
-- for a time that is probably taken), counting every status.
--
--   wrk -t2 -c640 -d60s --timeout 10s -s bench/overload.lua http://127.0.0.1:PORT
--
-- `done` prints one line the xtask reads:
--   overload.lua: statuses=200:N,201:N,409:N,503:N,...

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   n = 0
   statuses = {}
   json = { ["Content-Type"] = "application/json" }
   paths = {
      "/",
      "/articles/what-is-psychodynamic-therapy",
      "/api/v1/availability?type=consultation&location=online",
   }
end

function request()
   n = n + 1
   if n % 10 == 0 then
      local body = string.format(
         '{"type":"consultation","location":"online","start":"2027-03-29T09:00:00+01:00",' ..
         '"name":"Load Visitor","email":"load-%d@example.com","consent":true}', n)
      return wrk.format("POST", "/api/v1/bookings", json, body)
   end
   return wrk.format("GET", paths[(n % #paths) + 1])
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, count in pairs(counts) do
         total[status] = (total[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, status .. ":" .. count)
   end
   table.sort(parts)
   io.write("overload.lua: statuses=" .. table.concat(parts, ",") .. "\n")
end
