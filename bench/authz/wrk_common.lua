-- Shared by the wrk scripts of bench/authz_vs_oidc_provider.sh (loaded with
-- dofile from the script's own folder): per-thread counters of answers that
-- are not what the test asked for (a status other than 200, or a body that
-- does not match the Lua pattern EXPECTED), and one machine-readable RESULT
-- line.
--
-- wrk runs setup() and done() in its main Lua state and init(), request()
-- and response() in one state per thread; setup() keeps the thread objects so
-- done() can read each thread's counters with thread:get().

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

non200 = 0     -- answers whose status is not 200
unexpected = 0 -- 200 answers whose body lacks what the test expects
last_bad = ""  -- the last wrong answer, to show what went wrong

function count_answer(status, body, expected)
  if status ~= 200 then
    non200 = non200 + 1
    last_bad = status .. " " .. string.sub(body or "", 1, 200)
    return false
  end
  if expected and not string.find(body or "", expected) then
    unexpected = unexpected + 1
    last_bad = "200 " .. string.sub(body or "", 1, 200)
    return false
  end
  return true
end

function done(summary, latency, requests)
  local bad, wrong, exhausted, sample = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non200") or 0)
    wrong = wrong + (thread:get("unexpected") or 0)
    exhausted = exhausted + (thread:get("exhausted") or 0)
    local last = thread:get("last_bad")
    if last and last ~= "" then sample = last end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "non200=%d unexpected=%d socket_errors=%d timeouts=%d exhausted=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    bad, wrong, socket_errors, e.timeout, exhausted))
  if sample ~= "" then
    io.write("SAMPLE " .. string.gsub(sample, "[\r\n]", " ") .. "\n")
  end
end
