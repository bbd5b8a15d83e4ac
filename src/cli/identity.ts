import { hostname, userInfo } from 'node:os';

/** Who runs the command, for the audit log: `$USER@hostname` unless `--by` says otherwise. */
export function defaultActor(env: NodeJS.ProcessEnv = process.env): string {
  let user = env.USER ?? env.LOGNAME ?? env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}
