"""The Lua scripts of Redis presence (charla.realtime.presence): each runs atomically in Redis, one round trip."""

# KEYS: user's sockets zset, room's users zset, room's names hash.
# ARGV: channel, user_id, username, now, expires_at. Returns 1 if the user had no live socket.
JOIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
local first = redis.call('ZCARD', KEYS[1]) == 0
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return first and 1 or 0
"""
# KEYS as above. ARGV: channel, user_id, now. Returns 1 if that was the user's last live socket.
LEAVE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
  return 1
end
return 0
"""


# KEYS: the room's users zset and names hash. ARGV: now. Removes and returns the names of
# users whose every socket lapsed (their process died): each is reported to one caller only.
SWEEP = """
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #lapsed == 0 then return {} end
redis.call('ZREM', KEYS[1], unpack(lapsed))
local names = redis.call('HMGET', KEYS[2], unpack(lapsed))
redis.call('HDEL', KEYS[2], unpack(lapsed))
local result = {}
for i, name in ipairs(names) do if name then table.insert(result, name) end end
return result
"""


# KEYS: sorted sets (a user's sockets, a room's users) and names hashes. ARGV: expires_at,
# seconds to keep, then for each key its kind ("z" or "h"), its count of arguments and
# those: a sorted set's members get expires_at as their score, a hash's field/value pairs
# are set (a restarted Redis has lost them); every key's expiry is pushed back.
REFRESH = """
local expires, keep, at = ARGV[1], ARGV[2], 3
for _, key in ipairs(KEYS) do
  local kind = ARGV[at]
  local first = at + 2
  at = first + tonumber(ARGV[at + 1])
  while first < at do
    local args = {}
    for i = first, math.min(first + 499, at - 1) do
      if kind == 'z' then args[#args + 1] = expires end
      args[#args + 1] = ARGV[i]
    end
    redis.call(kind == 'z' and 'ZADD' or 'HSET', key, unpack(args))
    first = first + 500
  end
  redis.call('EXPIRE', key, keep)
end
return 0
"""
