-- Replays pre-generated requests (one per line: METHOD \t PATH \t HEADERS-JSON-ish \t BODY),
-- so every request carries its own freshly signed token without signing inside wrk.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  local file = io.open(args[1], "r")
  for line in file:lines() do
    local method, path, auth, regauth, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    local headers = { ["Content-Type"] = "application/json" }
    if auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
    if regauth ~= "" then headers["Registration-Authorization"] = "Bearer " .. regauth end
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
  file:close()
  local nthreads = tonumber(args[2])
  -- Each thread walks its own share so no request (and no token) is sent twice.
  local share = math.floor(#requests / nthreads)
  first = (id - 1) * share + 1
  last = first + share - 1
  index = first
end

function request()
  local r = requests[index]
  index = index + 1
  if index > last then index = first end
  return r
end

non2xx = 0
function response(status, headers, body)
  if status >= 300 then non2xx = non2xx + 1 end
end
