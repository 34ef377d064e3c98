-- wrk as Telegram pushing webhook updates (bench/workers.py): every request is a new
-- private message with an update id of its own, from a user of its own, asking one of a
-- few questions in turn. Arguments: the first update id and the webhook's secret token.

local questions = {
  "how much is a session",
  "does it hurt",
  "what is qi",
  "how long is a session",
}
local next_id = 1

function init(args)
  next_id = tonumber(args[1])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = args[2]
end

function request()
  local id = next_id
  next_id = next_id + 1
  local user = 1000000000 + id
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":1764770000,' ..
    '"chat":{"id":%d,"type":"private","first_name":"Patient"},' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Patient"},"text":"%s"}}',
    id, id, user, user, questions[id % #questions + 1])
  return wrk.format(nil, nil, nil, body)
end
