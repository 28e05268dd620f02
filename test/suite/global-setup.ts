import { setUpSuiteTempDir } from './temp-dir';

export default function globalSetup(): void {
  setUpSuiteTempDir();
}
