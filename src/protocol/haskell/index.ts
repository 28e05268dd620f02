/** The Haskell kes-agent wire protocols: byte-level codec (see each module's header). */
export * from './constants';
export * from './errors';
export * from './byte-reader';
export * from './primitives';
export * from './ocert';
export * from './version-handshake';
export * from './service';
export * from './control';
export * from './agent-info';
export * from './socket-write';
