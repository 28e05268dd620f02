/**
 * A small reader of systemd unit files (systemd.syntax(7)) for the deploy checks: sections,
 * `Key=Value` directives, comment lines, backslash continuations. It keeps each directive's line
 * number and the line above it, so a test can insist that every directive is explained.
 */

export interface Directive {
  section: string;
  key: string;
  value: string;
  /** 1-based line of the key. */
  line: number;
  /** The comment lines directly above (no blank line in between), without the `#`. */
  comment: string[];
}

export interface UnitFile {
  sections: string[];
  directives: Directive[];
  /** Lines the reader did not understand (should be none). */
  stray: { line: number; text: string }[];
}

export function parseUnitFile(text: string): UnitFile {
  const out: UnitFile = { sections: [], directives: [], stray: [] };
  const lines = text.split('\n');
  let section = '';
  let comment: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '') {
      comment = [];
      continue;
    }
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) {
      comment.push(trimmed.slice(1).trim());
      continue;
    }
    const header = /^\[([A-Za-z0-9-]+)\]$/.exec(trimmed);
    if (header) {
      section = header[1]!;
      out.sections.push(section);
      comment = [];
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!kv || section === '') {
      out.stray.push({ line: i + 1, text: raw });
      comment = [];
      continue;
    }
    const line = i + 1;
    let value = kv[2]!;
    // A trailing backslash continues the value on the next line.
    while (value.endsWith('\\') && i + 1 < lines.length) value = value.slice(0, -1) + ' ' + lines[++i]!.trim();
    out.directives.push({ section, key: kv[1]!, value: value.trim(), line, comment });
    comment = [];
  }
  return out;
}

/** Every value of `key` in `section`, in file order. */
export function values(unit: UnitFile, section: string, key: string): string[] {
  return unit.directives.filter((d) => d.section === section && d.key === key).map((d) => d.value);
}

/** The single value of `key` (undefined when absent); throws when it is set more than once. */
export function value(unit: UnitFile, section: string, key: string): string | undefined {
  const all = values(unit, section, key);
  if (all.length > 1) throw new Error(`${section}.${key} is set ${all.length} times`);
  return all[0];
}

/**
 * Directives systemd 252+ knows, per section (systemd.unit(5), systemd.service(5),
 * systemd.exec(5), systemd.kill(5), systemd.resource-control(5)). Not every one systemd has: the
 * ones a service unit like ours may sensibly use. A typo is not in the list, so it fails the
 * check instead of being ignored with a warning in the journal nobody reads.
 */
export const KNOWN_DIRECTIVES: Readonly<Record<string, ReadonlySet<string>>> = {
  Unit: new Set([
    'Description', 'Documentation', 'Wants', 'Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds',
    'Conflicts', 'Before', 'After', 'OnFailure', 'OnSuccess', 'PropagatesReloadTo', 'ReloadPropagatedFrom',
    'JoinsNamespaceOf', 'RequiresMountsFor', 'OnFailureJobMode', 'IgnoreOnIsolate', 'StopWhenUnneeded',
    'RefuseManualStart', 'RefuseManualStop', 'AllowIsolate', 'DefaultDependencies', 'CollectMode',
    'FailureAction', 'SuccessAction', 'FailureActionExitStatus', 'SuccessActionExitStatus', 'JobTimeoutSec',
    'JobRunningTimeoutSec', 'JobTimeoutAction', 'JobTimeoutRebootArgument', 'StartLimitIntervalSec',
    'StartLimitBurst', 'StartLimitAction', 'RebootArgument', 'SourcePath', 'ConditionPathExists',
    'ConditionPathIsDirectory', 'ConditionFileNotEmpty', 'ConditionVirtualization', 'ConditionKernelVersion',
    'ConditionUser', 'ConditionGroup', 'ConditionMemory', 'AssertPathExists', 'AssertFileNotEmpty', 'AssertUser',
  ]),
  Service: new Set([
    // systemd.service(5)
    'Type', 'ExitType', 'RemainAfterExit', 'GuessMainPID', 'PIDFile', 'BusName', 'ExecStart', 'ExecStartPre',
    'ExecStartPost', 'ExecCondition', 'ExecReload', 'ExecStop', 'ExecStopPost', 'RestartSec', 'TimeoutStartSec',
    'TimeoutStopSec', 'TimeoutAbortSec', 'TimeoutSec', 'TimeoutStartFailureMode', 'TimeoutStopFailureMode',
    'RuntimeMaxSec', 'RuntimeRandomizedExtraSec', 'WatchdogSec', 'Restart', 'SuccessExitStatus',
    'RestartPreventExitStatus', 'RestartForceExitStatus', 'RootDirectoryStartOnly', 'NonBlocking', 'NotifyAccess',
    'Sockets', 'FileDescriptorStoreMax', 'USBFunctionDescriptors', 'USBFunctionStrings', 'OOMPolicy',
    // systemd.exec(5)
    'ExecSearchPath', 'WorkingDirectory', 'RootDirectory', 'RootImage', 'MountAPIVFS', 'ProtectProc', 'ProcSubset',
    'BindPaths', 'BindReadOnlyPaths', 'User', 'Group', 'DynamicUser', 'SupplementaryGroups', 'PAMName',
    'CapabilityBoundingSet', 'AmbientCapabilities', 'NoNewPrivileges', 'SecureBits', 'SELinuxContext',
    'AppArmorProfile', 'SmackProcessLabel', 'LimitCPU', 'LimitFSIZE', 'LimitDATA', 'LimitSTACK', 'LimitCORE',
    'LimitRSS', 'LimitNOFILE', 'LimitAS', 'LimitNPROC', 'LimitMEMLOCK', 'LimitLOCKS', 'LimitSIGPENDING',
    'LimitMSGQUEUE', 'LimitNICE', 'LimitRTPRIO', 'LimitRTTIME', 'UMask', 'CoredumpFilter', 'KeyringMode',
    'OOMScoreAdjust', 'TimerSlackNSec', 'Personality', 'IgnoreSIGPIPE', 'Nice', 'CPUSchedulingPolicy',
    'CPUSchedulingPriority', 'CPUSchedulingResetOnFork', 'CPUAffinity', 'NUMAPolicy', 'NUMAMask',
    'IOSchedulingClass', 'IOSchedulingPriority', 'ProtectSystem', 'ProtectHome', 'RuntimeDirectory',
    'StateDirectory', 'CacheDirectory', 'LogsDirectory', 'ConfigurationDirectory', 'RuntimeDirectoryMode',
    'StateDirectoryMode', 'CacheDirectoryMode', 'LogsDirectoryMode', 'ConfigurationDirectoryMode',
    'RuntimeDirectoryPreserve', 'TimeoutCleanSec', 'ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths',
    'ExecPaths', 'NoExecPaths', 'TemporaryFileSystem', 'PrivateTmp', 'PrivateDevices', 'PrivateNetwork',
    'NetworkNamespacePath', 'PrivateIPC', 'IPCNamespacePath', 'PrivateUsers', 'ProtectHostname', 'ProtectClock',
    'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups',
    'RestrictAddressFamilies', 'RestrictFileSystems', 'RestrictNamespaces', 'LockPersonality',
    'MemoryDenyWriteExecute', 'RestrictRealtime', 'RestrictSUIDSGID', 'RemoveIPC', 'PrivateMounts',
    'MountFlags', 'SystemCallFilter', 'SystemCallErrorNumber', 'SystemCallArchitectures', 'SystemCallLog',
    'Environment', 'EnvironmentFile', 'PassEnvironment', 'UnsetEnvironment', 'StandardInput', 'StandardOutput',
    'StandardError', 'StandardInputText', 'StandardInputData', 'LogLevelMax', 'LogExtraFields',
    'LogRateLimitIntervalSec', 'LogRateLimitBurst', 'LogNamespace', 'SyslogIdentifier', 'SyslogFacility',
    'SyslogLevel', 'SyslogLevelPrefix', 'TTYPath', 'TTYReset', 'TTYVHangup', 'TTYVTDisallocate',
    'LoadCredential', 'LoadCredentialEncrypted', 'SetCredential', 'SetCredentialEncrypted', 'UtmpIdentifier',
    'UtmpMode',
    // systemd.kill(5)
    'KillMode', 'KillSignal', 'RestartKillSignal', 'SendSIGHUP', 'SendSIGKILL', 'FinalKillSignal',
    'WatchdogSignal',
    // systemd.resource-control(5)
    'CPUAccounting', 'CPUWeight', 'StartupCPUWeight', 'CPUQuota', 'CPUQuotaPeriodSec', 'AllowedCPUs',
    'StartupAllowedCPUs', 'AllowedMemoryNodes', 'StartupAllowedMemoryNodes', 'MemoryAccounting', 'MemoryMin',
    'MemoryLow', 'MemoryHigh', 'MemoryMax', 'MemorySwapMax', 'TasksAccounting', 'TasksMax', 'IOAccounting',
    'IOWeight', 'StartupIOWeight', 'IODeviceWeight', 'IOReadBandwidthMax', 'IOWriteBandwidthMax',
    'IOReadIOPSMax', 'IOWriteIOPSMax', 'IODeviceLatencyTargetSec', 'IPAccounting', 'IPAddressAllow',
    'IPAddressDeny', 'IPIngressFilterPath', 'IPEgressFilterPath', 'DeviceAllow', 'DevicePolicy', 'Slice',
    'Delegate', 'DisableControllers', 'ManagedOOMSwap', 'ManagedOOMMemoryPressure',
    'ManagedOOMMemoryPressureLimit', 'ManagedOOMPreference',
  ]),
  Install: new Set(['Alias', 'WantedBy', 'RequiredBy', 'Also', 'DefaultInstance']),
};

/** Directives that may appear more than once and accumulate. */
export const LIST_DIRECTIVES: ReadonlySet<string> = new Set([
  'Conflicts', 'Before', 'After', 'Wants', 'Requires', 'Documentation', 'SystemCallFilter', 'Environment',
  'EnvironmentFile', 'ExecStartPre', 'ExecStartPost', 'ExecStop', 'ExecStopPost', 'ReadWritePaths',
  'ReadOnlyPaths', 'InaccessiblePaths', 'DeviceAllow', 'WantedBy', 'RequiredBy',
]);
