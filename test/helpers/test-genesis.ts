/**
 * Shelley genesis files for tests: a private testnet with the KES timing a test needs (e.g. a
 * few-second KES period in e2e tests). Test-only: the product reads real genesis files
 * (src/time/genesis.ts).
 */

export interface TestGenesisParams {
  readonly systemStart: Date;
  /** Seconds; may be fractional (0.1, 0.2, 0.5) as in private testnets. */
  readonly slotLength: number;
  readonly slotsPerKESPeriod: number;
  readonly maxKESEvolutions: number;
}

/**
 * A Shelley-genesis-shaped JSON text for tests (e.g. a few-second KES period in e2e tests). The
 * values are written as given, unvalidated, so tests can also build invalid files with it.
 */
export function makeTestGenesis(p: TestGenesisParams): string {
  const genesis = {
    activeSlotsCoeff: 0.05,
    protocolParams: {
      protocolVersion: { minor: 0, major: 2 },
      decentralisationParam: 1,
      eMax: 18,
      extraEntropy: { tag: 'NeutralNonce' },
      maxTxSize: 16384,
      maxBlockBodySize: 65536,
      maxBlockHeaderSize: 1100,
      minFeeA: 44,
      minFeeB: 155381,
      minUTxOValue: 1000000,
      poolDeposit: 500000000,
      minPoolCost: 340000000,
      keyDeposit: 2000000,
      nOpt: 150,
      rho: 0.003,
      tau: 0.2,
      a0: 0.3,
    },
    genDelegs: {},
    updateQuorum: 5,
    networkId: 'Testnet',
    initialFunds: {},
    maxLovelaceSupply: 45000000000000000,
    networkMagic: 42,
    epochLength: 500,
    // aeson writes whole seconds without a fraction, like the real genesis files.
    systemStart: p.systemStart.toISOString().replace('.000Z', 'Z'),
    slotsPerKESPeriod: p.slotsPerKESPeriod,
    slotLength: p.slotLength,
    maxKESEvolutions: p.maxKESEvolutions,
    securityParam: 10,
  };
  return `${JSON.stringify(genesis, null, 2)}\n`;
}
