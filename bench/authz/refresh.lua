-- wrk script: the refresh_token grant, each request with a refresh token
-- never presented before.
--
--   wrk -t THREADS -s refresh.lua URL -- AUTHORIZATION TOKEN_FILE THREADS ROTATE
--
-- TOKEN_FILE holds one refresh token a line, each the head of its own family
-- (minted through the code flow); thread N takes lines N, N+THREADS, ... as its
-- pool. With ROTATE=1 every request takes a token out of the pool and the
-- answer's new refresh_token goes back in, so each connection walks its own
-- rotation chain and no token is ever presented twice (a second presentation
-- would get the grace-window answer or revoke the family, not a refresh).
-- wrk calls response() for an answer before it asks request() for that
-- connection's next request, so the pool needs one token per connection of
-- the thread; the spares cover tokens lost to an error answer. With ROTATE=0
-- (rotate_refresh_tokens = false) the tokens are reused, in turn.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_common.lua")

local pool = {}
local rotate = true
local head = ""  -- the request line and headers up to "Content-Length: ", the same for every request
exhausted = 0  -- requests sent with no token left in the pool (each a failure)

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  -- What wrk.format() would write, built once: the load generator shares the
  -- server's cores, so every microsecond it spends per request is taken
  -- from the server.
  local lines = {wrk.method .. " " .. wrk.path .. " HTTP/1.1"}
  for name, value in pairs(wrk.headers) do table.insert(lines, name .. ": " .. value) end
  table.insert(lines, "Content-Length: ")
  head = table.concat(lines, "\r\n")
  local nthreads = tonumber(args[3])
  rotate = args[4] ~= "0"
  local i = 0
  for line in io.lines(args[2]) do
    if line ~= "" then
      if i % nthreads == id then table.insert(pool, line) end
      i = i + 1
    end
  end
end

function request()
  local token = table.remove(pool, 1)
  if not token then
    exhausted = exhausted + 1
    token = "pool-exhausted"
  elseif not rotate then
    table.insert(pool, token)
  end
  local body = "grant_type=refresh_token&refresh_token=" .. token
  return head .. #body .. "\r\n\r\n" .. body
end

function response(status, headers, body)
  if count_answer(status, body, '"access_token"%s*:') and rotate then
    local token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      table.insert(pool, token)
    else
      unexpected = unexpected + 1
      last_bad = "200 without a refresh_token: " .. string.sub(body, 1, 200)
    end
  end
end
