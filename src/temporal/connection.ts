/**
 * The Temporal connection, loaded as Temporal's own tools load it (@temporalio/envconfig): the TOML
 * profile file, then the TEMPORAL_* environment over it, then explicit flags/options over both.
 * Every setting that can be wrong is checked here, so a mistake is one line naming the setting, where
 * it came from and the fix, before any connection is tried. Never log `connectionOptions`: it holds
 * the API key and the client's private key; `summary` is the loggable form.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  loadClientConfig,
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ClientConfigTLS,
} from '@temporalio/envconfig';

/** Settings given explicitly (CLI flags, runWorker options): they win over the environment and the profile. */
export interface TemporalFlags {
  address?: string;
  namespace?: string;
  /** Profile name (TEMPORAL_PROFILE). */
  profile?: string;
  /** Profile file (TEMPORAL_CONFIG_FILE). */
  configFile?: string;
  /** true: TLS even without other TLS settings; false: plaintext whatever the profile says. */
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
}

/** What `Connection.connect` and `NativeConnection.connect` both take. Holds secrets: never log it. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Uint8Array;
    clientCertPair?: { crt: Uint8Array; key: Uint8Array };
  };
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface TemporalConnectionConfig {
  address: string;
  namespace: string;
  connectionOptions: TemporalConnectionOptions;
  /** Loggable: address, namespace, TLS mode, whether an API key is sent, the profile used. */
  summary: string;
}

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** A configuration mistake: the message names the setting, its source and the fix. */
export class TemporalConfigError extends Error {
  override name = 'TemporalConfigError';
}

type Env = Record<string, string | undefined>;

/** Where Temporal's tools look for the profile file when TEMPORAL_CONFIG_FILE is not set (Linux, macOS). */
export function defaultConfigFile(env: Env): string | undefined {
  if (process.platform === 'darwin') {
    const home = env.HOME;
    return home ? join(home, 'Library', 'Application Support', 'temporalio', 'temporal.toml') : undefined;
  }
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) return isAbsolute(xdg) ? join(xdg, 'temporalio', 'temporal.toml') : undefined;
  const home = env.HOME ?? homedir();
  return home ? join(home, '.config', 'temporalio', 'temporal.toml') : undefined;
}

const CERT_SETTINGS = {
  clientCert: {
    what: 'TLS client certificate',
    flag: '--tls-cert-path',
    env: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
    toml: 'client_cert_path',
    pem: 'CERTIFICATE',
  },
  clientKey: {
    what: 'TLS client key',
    flag: '--tls-key-path',
    env: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
    toml: 'client_key_path',
    pem: 'PRIVATE KEY',
  },
  serverCACert: {
    what: 'TLS server CA certificate',
    flag: '--tls-ca-path',
    env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    toml: 'server_ca_cert_path',
    pem: 'CERTIFICATE',
  },
} as const;
type CertSetting = keyof typeof CERT_SETTINGS;

function clean(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads the profile file: the explicit one must exist, the default one may be absent. */
function readProfileFile(
  env: Record<string, string>,
  flags: TemporalFlags,
): { path: string; data: string } | undefined {
  const explicit = flags.configFile ?? env.TEMPORAL_CONFIG_FILE;
  const source = flags.configFile ? '--config-file' : 'TEMPORAL_CONFIG_FILE';
  const path = explicit ?? defaultConfigFile(env);
  if (!path) return undefined;
  try {
    return { path, data: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return undefined;
    throw new TemporalConfigError(
      `cannot read the Temporal profile file ${path} (${source}=${path}): ${code === 'ENOENT' ? 'no such file' : errorText(err)}. ` +
        `Fix the path, or unset ${source} to use ${defaultConfigFile(env) ?? 'no file'}`,
    );
  }
}

/**
 * Loads the connection: profile file (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml;
 * profile TEMPORAL_PROFILE, else "default"), TEMPORAL_* variables over it, `flags` over both.
 * Throws TemporalConfigError for anything wrong.
 */
export function loadTemporalConnection(
  options: { env?: Env; flags?: TemporalFlags } = {},
): TemporalConnectionConfig {
  const env = clean(options.env ?? process.env);
  const flags = options.flags ?? {};
  const file = readProfileFile(env, flags);
  const profileName = flags.profile ?? env.TEMPORAL_PROFILE;
  const profileSource = flags.profile ? '--profile' : 'TEMPORAL_PROFILE';
  let where = 'the environment';

  if (file) {
    let names: string[];
    try {
      names = Object.keys(
        loadClientConfig({ configSource: { data: file.data }, configFileStrict: true }).profiles,
      );
    } catch (err) {
      // A file without any [profile.NAME] table makes envconfig fail on an undefined table.
      const detail = err instanceof TypeError ? 'it has no [profile.NAME] table' : errorText(err);
      throw new TemporalConfigError(
        `the Temporal profile file ${file.path} is not valid: ${detail}. ` +
          `Expected e.g. [profile.default] address = "host:7233", namespace = "ns", api_key = "...", [profile.default.tls] ...`,
      );
    }
    if (profileName && !names.includes(profileName)) {
      throw new TemporalConfigError(
        `profile "${profileName}" (${profileSource}) is not in ${file.path}: it has ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'no profiles'}. ` +
          `Fix ${profileSource} or add [profile.${profileName}] to the file`,
      );
    }
    if (profileName || names.includes('default'))
      where = `profile "${profileName ?? 'default'}" of ${file.path}`;
  } else if (profileName) {
    throw new TemporalConfigError(
      `${profileSource}=${profileName} but there is no profile file (${defaultConfigFile(env) ?? 'no default location'} does not exist): ` +
        `set TEMPORAL_CONFIG_FILE to the file that holds [profile.${profileName}]`,
    );
  }
  if (
    env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' ||
    env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1'
  ) {
    throw new TemporalConfigError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK: unset it and set ' +
        "TEMPORAL_TLS_SERVER_NAME to a name in the server's certificate (or TEMPORAL_TLS_SERVER_CA_CERT_PATH to its CA)",
    );
  }

  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(file ? { configSource: { data: file.data } } : { disableFile: true }),
      ...(profileName ? { profile: profileName } : {}),
      configFileStrict: true,
      overrideEnvVars: env,
    });
  } catch (err) {
    throw new TemporalConfigError(`cannot load the Temporal connection from ${where}: ${errorText(err)}`);
  }

  applyFlags(profile, flags);
  const from = (key: CertSetting): string => {
    const s = CERT_SETTINGS[key];
    const flag = {
      clientCert: flags.tlsCertPath,
      clientKey: flags.tlsKeyPath,
      serverCACert: flags.tlsCaPath,
    }[key];
    if (flag) return s.flag;
    if (env[s.env] !== undefined) return s.env;
    if (env[s.env.replace(/_PATH$/, '_DATA')] !== undefined) return s.env.replace(/_PATH$/, '_DATA');
    return `${s.toml.replace(/_path$/, '_path/_data')} in ${where}`;
  };
  checkTls(profile.tls, from);

  const { connectionOptions, namespace } = toClientOptions(profile);
  const address = connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const tls = connectionOptions.tls;
  const opts: TemporalConnectionOptions = {
    address,
    ...(tls === true ? { tls: {} } : tls ? { tls } : {}),
    ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey as string } : {}),
    ...(profile.grpcMeta ? { metadata: profile.grpcMeta } : {}),
  };
  if (opts.apiKey !== undefined && !opts.apiKey.trim()) {
    throw new TemporalConfigError(
      `the Temporal API key (TEMPORAL_API_KEY or api_key in ${where}) is empty: set it, or unset it to connect without one`,
    );
  }
  const ns = namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  const mode = !opts.tls ? 'plaintext' : opts.tls.clientCertPair ? 'mTLS' : 'TLS';
  const key = opts.apiKey !== undefined ? ' with an API key' : '';
  const summary = `${address} (namespace ${ns}) over ${mode}${key}, settings from ${where}`;
  return { address, namespace: ns, connectionOptions: opts, summary };
}

function applyFlags(profile: ClientConfigProfile, flags: TemporalFlags): void {
  if (flags.address) profile.address = flags.address;
  if (flags.namespace) profile.namespace = flags.namespace;
  const tls: ClientConfigTLS = { ...profile.tls };
  let touched = false;
  const set = <K extends keyof ClientConfigTLS>(k: K, v: ClientConfigTLS[K] | undefined) => {
    if (v === undefined) return;
    tls[k] = v;
    touched = true;
  };
  set('clientCert', flags.tlsCertPath ? { path: flags.tlsCertPath } : undefined);
  set('clientKey', flags.tlsKeyPath ? { path: flags.tlsKeyPath } : undefined);
  set('serverCACert', flags.tlsCaPath ? { path: flags.tlsCaPath } : undefined);
  set('serverName', flags.tlsServerName);
  if (touched) tls.disabled ??= false;
  if (flags.tls !== undefined) {
    tls.disabled = !flags.tls;
    touched = true;
  }
  if (touched) profile.tls = tls;
}

/** Every certificate and key readable and PEM; cert and key given together. */
function checkTls(tls: ClientConfigTLS | undefined, from: (key: CertSetting) => string): void {
  if (!tls || tls.disabled) return;
  for (const key of Object.keys(CERT_SETTINGS) as CertSetting[]) {
    const source = tls[key];
    if (!source) continue;
    const s = CERT_SETTINGS[key];
    let text: string;
    if ('path' in source) {
      try {
        text = readFileSync(source.path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new TemporalConfigError(
          `cannot read the ${s.what} ${source.path} (${from(key)}): ${code === 'ENOENT' ? 'no such file' : errorText(err)}. Fix the path`,
        );
      }
    } else {
      text = typeof source.data === 'string' ? source.data : Buffer.from(source.data).toString('utf8');
    }
    if (!text.includes(`-----BEGIN `) || !text.includes(s.pem)) {
      const at = 'path' in source ? ` ${source.path}` : '';
      throw new TemporalConfigError(
        `the ${s.what}${at} (${from(key)}) is not a PEM ${s.pem.toLowerCase()}: give the PEM file (-----BEGIN ${s.pem}-----)`,
      );
    }
  }
  if (!tls.clientCert !== !tls.clientKey) {
    const [has, lacks]: CertSetting[] = tls.clientCert
      ? ['clientCert', 'clientKey']
      : ['clientKey', 'clientCert'];
    throw new TemporalConfigError(
      `the ${CERT_SETTINGS[has].what} (${from(has)}) is given without the ${CERT_SETTINGS[lacks].what}: ` +
        `set ${CERT_SETTINGS[lacks].env} (or ${CERT_SETTINGS[lacks].toml} in the profile) too`,
    );
  }
}
