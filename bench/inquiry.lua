-- wrk script: POST /api/v1/inquiries with the bodies of a request file, one JSON per line.
--   wrk -s inquiry.lua URL -- BODIES_FILE TOKEN
-- Each wrk thread walks the (already shuffled) file from its own offset. Responses are
-- counted by status and by "found", and done() prints one line: BENCH_JSON {...}.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. args[2],
  }
  next_body = 1 + (thread_index * math.floor(#bodies / 16)) % #bodies
  found, not_found, other, bad = 0, 0, 0, 0
  bad_status = ""
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/api/v1/inquiries", headers, body)
end

function response(status, _headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad <= 3 then bad_status = bad_status .. " " .. status end
  elseif string.find(body, '"found":%s*true') then
    found = found + 1
  elseif string.find(body, '"found":%s*false') then
    not_found = not_found + 1
  else
    other = other + 1
  end
end

function done(summary, latency, _requests)
  local f, nf, o, b, statuses = 0, 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    f = f + thread:get("found")
    nf = nf + thread:get("not_found")
    o = o + thread:get("other")
    b = b + thread:get("bad")
    statuses = statuses .. thread:get("bad_status")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"found":%d,"not_found":%d,"other":%d,"bad":%d,"bad_statuses":"%s"}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(75),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    f, nf, o, b, statuses))
end
