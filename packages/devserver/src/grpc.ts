/** Binds protobufjs reflection services to a grpc-js server: (de)serialization, deadlines, errors, UNIMPLEMENTED. */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { root } from './proto.js';
import { ServiceError } from './errors.js';
import type { Logger } from './log.js';

/** Per-call context handed to handlers. */
export interface CallContext {
  /** Milliseconds until the client's deadline (Infinity when none). */
  remainingMs(): number;
  /** Resolves when the client cancels the call or the server stops. */
  cancelled: Promise<void>;
  isCancelled(): boolean;
}

export type Handler = (request: never, ctx: CallContext) => Promise<object>;
export type HandlerMap = Record<string, Handler | undefined>;

/** `grpc-status-details-bin` trailer (google.rpc.Status) for errors that carry typed details. */
function statusDetails(err: ServiceError): grpc.Metadata | undefined {
  if (!err.details.length) return undefined;
  const md = new grpc.Metadata();
  const st = root.lookupType('google.rpc.Status');
  md.set(
    'grpc-status-details-bin',
    Buffer.from(st.encode({ code: err.code, message: err.message, details: err.details }).finish()),
  );
  return md;
}

export function bindService(
  server: grpc.Server,
  serviceName: string,
  handlers: HandlerMap,
  log: Logger,
  onStop: Promise<void>,
  /** Run before every call: a message refuses it with UNAUTHENTICATED (auth.ts, API keys). */
  authorize?: (metadata: grpc.Metadata) => string | undefined,
): void {
  // One listener on the stop promise for all calls (not one per call).
  const live = new Set<() => void>();
  let stopped = false;
  void onStop.then(() => {
    stopped = true;
    for (const fn of [...live]) fn();
  });
  const service = root.lookupService(serviceName);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of Object.values(service.methods) as protobuf.Method[]) {
    method.resolve();
    const reqType = method.resolvedRequestType as protobuf.Type;
    const resType = method.resolvedResponseType as protobuf.Type;
    const name = method.name;
    definition[name] = {
      path: `/${serviceName}/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: object) => Buffer.from(reqType.encode(v).finish()),
      requestDeserialize: (b: Buffer) => reqType.decode(b),
      responseSerialize: (v: object) => Buffer.from(resType.encode(v).finish()),
      responseDeserialize: (b: Buffer) => resType.decode(b),
      originalName: name,
    };
    const handler = handlers[name];
    impl[name] = (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      const refused = authorize?.(call.metadata);
      if (refused !== undefined) {
        log.debug(`${name} -> UNAUTHENTICATED: ${refused}`);
        callback({ code: grpc.status.UNAUTHENTICATED, details: refused });
        return;
      }
      if (!handler) {
        callback({
          code: grpc.status.UNIMPLEMENTED,
          details: `${serviceName}/${name} is not implemented by the embedded dev server`,
        });
        return;
      }
      const deadline = call.getDeadline();
      const deadlineMs =
        deadline instanceof Date
          ? deadline.getTime()
          : typeof deadline === 'number' && Number.isFinite(deadline)
            ? deadline
            : Infinity;
      let cancelled = stopped;
      let cancel!: () => void;
      const cancelledPromise = new Promise<void>((resolve) => {
        cancel = () => {
          cancelled = true;
          live.delete(cancel);
          resolve();
        };
      });
      if (cancelled) cancel();
      else live.add(cancel);
      call.on('cancelled', cancel);
      const ctx: CallContext = {
        remainingMs: () => deadlineMs - Date.now(),
        cancelled: cancelledPromise,
        isCancelled: () => cancelled,
      };
      const started = Date.now();
      (handler as (r: object, c: CallContext) => Promise<object>)(call.request, ctx).then(
        (res) => {
          live.delete(cancel);
          log.debug(`${name} ok in ${Date.now() - started}ms`);
          callback(null, res);
        },
        (err: unknown) => {
          live.delete(cancel);
          if (err instanceof ServiceError) {
            log.debug(`${name} -> ${grpc.status[err.code]}: ${err.message}`);
            callback({ code: err.code, details: err.message, metadata: statusDetails(err) });
          } else if (err instanceof Error && err.name === 'InvalidArgument') {
            callback({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
          } else {
            log.error(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
            callback({
              code: grpc.status.INTERNAL,
              details: err instanceof Error ? err.message : String(err),
            });
          }
        },
      );
    };
  }
  server.addService(definition, impl);
}
