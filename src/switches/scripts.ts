/**
 * Lua scripts run atomically by Redis. The switch hash is read, compared and written in one step, so
 * concurrent writers never lose an update and every real change gets its own version number.
 */

/**
 * KEYS: switches hash, history stream.
 * ARGV: writeMode, readPercent, shadowRead ('' = unchanged; canonical strings), actor, now (ISO),
 *       channel, historyMaxLen, epoch (used only when the hash is created), hold ('' = unchanged).
 * Creates the defaults (version 1) when the hash is absent, then applies the change; a change equal
 * to the current values writes, publishes and records nothing.
 * The epoch names one lifetime of the hash: if Redis loses it (no persistence) and it is created again,
 * versions restart under a new epoch, which tells followers to accept the lower version.
 * Returns: writeMode, readPercent, shadowRead, version, updatedAt, updatedBy, changed (1/0), epoch.
 */
export const SET_SWITCHES = `
local cur = redis.call('HMGET', KEYS[1], 'writeMode', 'readPercent', 'shadowRead', 'version', 'updatedAt', 'updatedBy', 'epoch', 'hold')
local wm, rp, sr, ver, at, by, ep, hd = cur[1], cur[2], cur[3], cur[4], cur[5], cur[6], cur[7], cur[8]
local created = false
if not ver then
  wm, rp, sr, ver, at, by, ep, hd = 'SOURCE_ONLY', '0', '0', '1', ARGV[5], ARGV[4], ARGV[8], '0'
  created = true
end
if not ep then ep = '' end
if not hd then hd = '0' end
local nwm, nrp, nsr, nhd = wm, rp, sr, hd
if ARGV[1] ~= '' then nwm = ARGV[1] end
if ARGV[2] ~= '' then nrp = ARGV[2] end
if ARGV[3] ~= '' then nsr = ARGV[3] end
if ARGV[9] ~= '' then nhd = ARGV[9] end
local changed = (nwm ~= wm) or (nrp ~= rp) or (nsr ~= sr) or (nhd ~= hd)
if changed then
  ver = tostring(tonumber(ver) + 1)
  at, by = ARGV[5], ARGV[4]
end
if changed or created then
  redis.call('HSET', KEYS[1], 'writeMode', nwm, 'readPercent', nrp, 'shadowRead', nsr, 'hold', nhd, 'version', ver, 'updatedAt', at, 'updatedBy', by, 'epoch', ep)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'version', ver, 'writeMode', nwm, 'readPercent', nrp, 'shadowRead', nsr, 'hold', nhd, 'at', at, 'by', by)
  redis.call('PUBLISH', ARGV[6], cjson.encode({ writeMode = nwm, readPercent = tonumber(nrp), shadowRead = (nsr == '1'), hold = (nhd == '1'), version = tonumber(ver), updatedAt = at, updatedBy = by, epoch = ep }))
end
return { nwm, nrp, nsr, ver, at, by, changed and 1 or 0, ep, nhd }
`;
