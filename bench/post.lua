-- wrk script: POST one prebuilt body over and over, count answers whose status differs
-- from the expected one, and print the figures as one JSON line for bench/mock_load.py.
--
-- wrk -s bench/post.lua URL -- BODY_FILE EXPECTED_STATUS CONTENT_TYPE [AUTHORIZATION]

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  expected = tonumber(args[2])
  local headers = { ["Content-Type"] = args[3] }
  if args[4] and args[4] ~= "" then
    headers["Authorization"] = args[4]
  end
  -- Formatted once per thread: a 9.5 MB body is not re-copied per request.
  prepared = wrk.format("POST", nil, headers, body)
  wrong = 0
  last_wrong = 0
end

function request()
  return prepared
end

function response(status, headers, body)
  if status ~= expected then
    wrong = wrong + 1
    last_wrong = status
  end
end

function done(summary, latency, requests)
  local wrong_total, last = 0, 0
  for _, thread in ipairs(threads) do
    wrong_total = wrong_total + thread:get("wrong")
    local status = thread:get("last_wrong")
    if status ~= 0 then last = status end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"wrong_status":%d,"last_wrong_status":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, wrong_total, last))
end
