/**
 * Lua scripts run atomically by Redis. The switch hash is read, compared and written in one step, so
 * concurrent writers never lose an update and every real change gets its own version number.
 */

/**
 * KEYS: switches hash, history stream.
 * ARGV: writeMode, readPercent, shadowRead ('' = unchanged; canonical strings), actor, now (ISO),
 *       channel, historyMaxLen, epoch (used only when the hash is created), hold ('' = unchanged),
 *       ifVersion ('' = any), holdMs ('' = none), onlyIfHoldExpired ('1' = yes).
 * Creates the defaults (version 1) when the hash is absent, then applies the change; a change equal
 * to the current values writes, publishes and records nothing.
 * The epoch names one lifetime of the hash: if Redis loses it (no persistence) and it is created again,
 * versions restart under a new epoch, which tells followers to accept the lower version.
 * Conditions (a refused change writes nothing and returns the current state with changed = -1):
 * ifVersion: the current version must be this one (an absent hash is refused); onlyIfHoldExpired: the
 * hash must hold writes under a lease that has run out by Redis's clock.
 * A hold set with holdMs carries a lease: holdUntil = Redis's time + holdMs. Taking such a hold over a
 * standing one is a new version (the fence that took it owns it alone). After the lease, anyone may
 * release the hold (onlyIfHoldExpired), so writes held by a worker that died resume; the lease is
 * cleared with the hold.
 * Returns: writeMode, readPercent, shadowRead, version, updatedAt, updatedBy, changed (1/0/-1), epoch,
 * hold, holdMs ('' = no lease).
 */
export const SET_SWITCHES = `
local cur = redis.call('HMGET', KEYS[1], 'writeMode', 'readPercent', 'shadowRead', 'version', 'updatedAt', 'updatedBy', 'epoch', 'hold', 'holdUntil', 'holdMs')
local wm, rp, sr, ver, at, by, ep, hd, hu, hm = cur[1], cur[2], cur[3], cur[4], cur[5], cur[6], cur[7], cur[8], cur[9], cur[10]
if not ep then ep = '' end
if not hd then hd = '0' end
if not hu then hu = '' end
if not hm then hm = '' end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local refused = false
if ARGV[10] ~= '' and ver ~= ARGV[10] then refused = true end
if ARGV[12] == '1' and (hd ~= '1' or hu == '' or nowMs < tonumber(hu)) then refused = true end
if refused then
  if not ver then return { '', '', '', '', '', '', -1, '', '', '' } end
  return { wm, rp, sr, ver, at, by, -1, ep, hd, hm }
end
local created = false
if not ver then
  wm, rp, sr, ver, at, by, ep, hd = 'SOURCE_ONLY', '0', '0', '1', ARGV[5], ARGV[4], ARGV[8], '0'
  created = true
end
local nwm, nrp, nsr, nhd = wm, rp, sr, hd
if ARGV[1] ~= '' then nwm = ARGV[1] end
if ARGV[2] ~= '' then nrp = ARGV[2] end
if ARGV[3] ~= '' then nsr = ARGV[3] end
if ARGV[9] ~= '' then nhd = ARGV[9] end
local nhu, nhm = hu, hm
if nhd ~= '1' then
  nhu, nhm = '', ''
elseif ARGV[11] ~= '' then
  nhu, nhm = tostring(nowMs + tonumber(ARGV[11])), ARGV[11]
end
-- A hold taken with a lease over a standing hold is a new hold (new version): two fences never share one
local changed = (nwm ~= wm) or (nrp ~= rp) or (nsr ~= sr) or (nhd ~= hd) or (nhd == '1' and ARGV[11] ~= '')
if changed then
  ver = tostring(tonumber(ver) + 1)
  at, by = ARGV[5], ARGV[4]
end
if changed or created then
  redis.call('HSET', KEYS[1], 'writeMode', nwm, 'readPercent', nrp, 'shadowRead', nsr, 'hold', nhd, 'holdUntil', nhu, 'holdMs', nhm, 'version', ver, 'updatedAt', at, 'updatedBy', by, 'epoch', ep)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'version', ver, 'writeMode', nwm, 'readPercent', nrp, 'shadowRead', nsr, 'hold', nhd, 'at', at, 'by', by)
  redis.call('PUBLISH', ARGV[6], cjson.encode({ writeMode = nwm, readPercent = tonumber(nrp), shadowRead = (nsr == '1'), hold = (nhd == '1'), holdMs = tonumber(nhm), version = tonumber(ver), updatedAt = at, updatedBy = by, epoch = ep }))
end
return { nwm, nrp, nsr, ver, at, by, changed and 1 or 0, ep, nhd, nhm }
`;
