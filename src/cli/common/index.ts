/** Plumbing shared by every kes-agent CLI. */
export { type KesCliContext, KesCommand } from './base-command';
export { type CliSpec, createCli, runCli, runMain, VersionCommand } from './run-cli';
export { EXIT_FOR_ERROR, DEFAULT_EXIT_FOR_ERROR, EXIT_FOR_AGENT_REFUSAL, exitCodeFor, exitCodeForRefusal } from './exit-map';
export { type Reported, describeFailure } from './report';
export { usageErrorMessage } from './usage-errors';
export { toJsonLine, isoTime } from './json-output';
export { OVERWRITE_FLAG, checkOutputFile, describeWrite, overwriteOption, requireDistinctPaths } from './files';
export { packageVersion, PACKAGE_NAME } from './version';
export { formatDuration } from './format';
export { resolveTiming } from './timing';
