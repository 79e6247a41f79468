-- wrk script: the same urlencoded POST on every request, with HTTP Basic
-- client authentication; counts answers that are not 200 or whose body does
-- not match the Lua pattern EXPECTED (see wrk_common.lua).
--
--   wrk -s form_post.lua URL -- AUTHORIZATION BODY EXPECTED
--   e.g. -- "Basic Y2xpZW50OnNlY3JldA==" "grant_type=client_credentials" '"access_token"%s*:'
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_common.lua")

local expected

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  wrk.body = args[2]
  expected = args[3]
end

function response(status, headers, body)
  count_answer(status, body, expected)
end
